package azurefunctions

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/polyfn/polyfn/core"
)

// The native types of object events: a blob trigger names no event, so its
// binding type stands in; Event Grid's are its own
// (https://learn.microsoft.com/azure/event-grid/event-schema-blob-storage).
const (
	nativeBlobTrigger       = "blobTrigger"
	blobCreated             = "Microsoft.Storage.BlobCreated"
	blobDeleted             = "Microsoft.Storage.BlobDeleted"
	blobTierChanged         = "Microsoft.Storage.BlobTierChanged"
	asyncOperationInitiated = "Microsoft.Storage.AsyncOperationInitiated"
	// storageEventPrefix begins the type of every Azure Storage event.
	storageEventPrefix = "Microsoft.Storage."
	// archiveTier is the offline access tier, from which a blob is
	// rehydrated.
	archiveTier = "Archive"
)

// decodeObjects decodes an object trigger's payload: a blob trigger's
// (content in Data, the blob's Uri in Metadata) or an Event Grid event's.
func decodeObjects(src source, payload json.RawMessage, t core.ObjectTrigger) (decoded, error) {
	if _, ok := src.meta.get("Uri"); ok {
		e, err := decodeBlobTrigger(src, payload)
		if err != nil {
			return decoded{}, err
		}
		return decoded{events: []core.Event{e}}, nil
	}
	return decodeGridEvents(src, payload, t)
}

// decodeBlobTrigger decodes a blob trigger invocation (captured form):
//
//	Data:     {"blob": "<content, base64>"}
//	Metadata: {"Uri": "\"https://acct.blob.core.windows.net/media/uploads/a%20b.png\"",
//	           "Properties": {"Length": 16, "ContentType": "…", "ETag": "\"0x8D…\"", "LastModified": "…"},
//	           "Metadata": {…}, "name": "\"a b.png\"", "sys": {…}}
//
// The content is the blob's, so functions need not read it again.
func decodeBlobTrigger(src source, payload json.RawMessage) (core.Event, error) {
	content, err := payloadBytes(payload)
	if err != nil {
		return core.Event{}, fmt.Errorf("blob content: %w", err)
	}
	uri := src.meta.str("Uri")
	loc, err := parseBlobURL(uri)
	if err != nil {
		return core.Event{}, err
	}
	props := metadata{}
	if v, ok := src.meta.get("Properties"); ok {
		if props, err = metaObject(v); err != nil {
			return core.Event{}, fmt.Errorf("blob Properties: %w", err)
		}
	}
	size := int64(len(content))
	for _, k := range []string{"Length", "ContentLength"} {
		if v, ok := props.get(k); ok {
			if n, err := metaInt(v); err == nil {
				size = n
				break
			}
		}
	}
	obj := &core.Object{
		Bucket:      loc.container,
		Key:         loc.key,
		Size:        size,
		ContentType: props.str("ContentType"),
		ETag:        strings.Trim(props.str("ETag"), `"`),
		Version:     props.str("VersionId"),
		Account:     loc.account,
		Content:     content,
		EventName:   nativeBlobTrigger,
	}
	// Redeliveries of one version of a blob get one id: the trigger's
	// receipts are kept per ETag too.
	id := src.invocationID
	if obj.ETag != "" {
		sum := sha256.Sum256([]byte(uri + "\n" + obj.ETag))
		id = hex.EncodeToString(sum[:16])
	}
	t := props.time("LastModified")
	if t.IsZero() {
		t = src.now()
	}
	return newEvent(core.TypeObjectCreated, id, loc.containerURL, obj, obj.Key, t, nativeBlobTrigger)
}

// blobLocation is where a blob URL points.
type blobLocation struct {
	account, container, key string
	containerURL            string
}

// parseBlobURL splits a blob URL into account, container and key, each
// percent-decoded as a path. The account is the first label of a
// "<account>.blob.…" host, or else (Azurite's path-style URLs) the first
// segment of the path.
func parseBlobURL(s string) (blobLocation, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return blobLocation{}, fmt.Errorf("blob Uri %q is not an http(s) URL", s)
	}
	base := u.Scheme + "://" + u.Host
	path := strings.TrimPrefix(u.EscapedPath(), "/")
	var loc blobLocation
	if acct, _, ok := strings.Cut(u.Hostname(), ".blob."); ok {
		loc.account = acct
	} else {
		loc.account, path, _ = strings.Cut(path, "/")
		base += "/" + loc.account
	}
	container, key, _ := strings.Cut(path, "/")
	if loc.container, err = url.PathUnescape(container); err == nil {
		loc.key, err = url.PathUnescape(key)
	}
	if err != nil || loc.container == "" || loc.key == "" {
		return blobLocation{}, fmt.Errorf("blob Uri %q names no container and blob", s)
	}
	loc.containerURL = base + "/" + container
	return loc, nil
}

// gridEvent is an Event Grid event in either schema: Event Grid's own
// (eventType, topic, eventTime) or CloudEvents 1.0 (type, source, time).
type gridEvent struct {
	ID          string          `json:"id"`
	Subject     string          `json:"subject"`
	EventType   string          `json:"eventType"`
	Topic       string          `json:"topic"`
	EventTime   string          `json:"eventTime"`
	SpecVersion string          `json:"specversion"`
	Type        string          `json:"type"`
	Source      string          `json:"source"`
	Time        string          `json:"time"`
	Data        json.RawMessage `json:"data"`
}

// blobEventData is the data of Microsoft.Storage.Blob* events and of
// AsyncOperationInitiated (StorageBlobTierChangedEventData and its
// siblings in the Event Grid SDKs).
type blobEventData struct {
	API           string          `json:"api"`
	ContentType   string          `json:"contentType"`
	ContentLength json.RawMessage `json:"contentLength"`
	ETag          string          `json:"eTag"`
	URL           string          `json:"url"`
	AccessTier    string          `json:"accessTier"`
	PreviousTier  string          `json:"previousTier"`
}

// decodeGridEvents decodes an eventGridTrigger's payload: one event (the
// host invokes the function once per event), sent as an object or as its
// JSON text; an array of them is accepted too. Storage events that are no
// object kind (BlobRenamed, LifecyclePolicyCompleted, …) and events of
// other sources are acknowledged without a call, as the host's trigger
// has always done.
func decodeGridEvents(src source, payload json.RawMessage, t core.ObjectTrigger) (decoded, error) {
	v, err := unwrapJSON(payload)
	if err != nil {
		return decoded{}, fmt.Errorf("event grid event: %w", err)
	}
	raws := []json.RawMessage{v}
	if jsonKind(v) == '[' {
		if err := json.Unmarshal(v, &raws); err != nil {
			return decoded{}, fmt.Errorf("event grid events: %w", err)
		}
	}
	var d decoded
	for i, raw := range raws {
		e, err := decodeGridEvent(raw, t)
		if errors.Is(err, errNotObjectEvent) || errors.Is(err, errNotStorageEvent) {
			continue
		}
		if err != nil {
			return decoded{}, fmt.Errorf("event grid event %d: %w", i, err)
		}
		d.events = append(d.events, e)
	}
	return d, nil
}

// kindOfType is the kind of each neutral object type.
var kindOfType = map[string]core.Kind{
	core.TypeObjectCreated: core.KindObjectCreated, core.TypeObjectDeleted: core.KindObjectDeleted,
	core.TypeObjectTiered: core.KindObjectTiered, core.TypeObjectRestored: core.KindObjectRestored,
}

// errNotObjectEvent is a Storage event of no object kind, or of one the
// trigger does not ask for;
// errNotStorageEvent an event of another source than Azure Storage.
var (
	errNotObjectEvent  = errors.New("not a blob event of an object kind")
	errNotStorageEvent = errors.New("not an Azure Storage event")
)

// decodeGridEvent decodes one Event Grid event, in either schema, into the
// object event of trigger t (docs/azure.md, "Blob lifecycle events"):
//
//   - BlobCreated, BlobDeleted: created, deleted;
//   - BlobTierChanged: tiered, StorageClass = accessTier,
//     PreviousStorageClass = previousTier; a change out of Archive ends a
//     rehydration, and is restored (phase completed) to a trigger that
//     asks for restores;
//   - AsyncOperationInitiated (a rehydration from Archive has started, by
//     Set Blob Tier or Copy Blob): restored, phase started.
func decodeGridEvent(raw json.RawMessage, t core.ObjectTrigger) (core.Event, error) {
	v, err := unwrapJSON(raw)
	if err != nil {
		return core.Event{}, err
	}
	if jsonKind(v) != '{' {
		return core.Event{}, fmt.Errorf("want an object, got %s", describe(v))
	}
	var g gridEvent
	if err := json.Unmarshal(v, &g); err != nil {
		return core.Event{}, err
	}
	typ, src, when := g.EventType, g.Topic, g.EventTime
	if g.SpecVersion != "" {
		typ, src, when = g.Type, g.Source, g.Time
	}
	if !strings.HasPrefix(typ, storageEventPrefix) {
		return core.Event{}, fmt.Errorf("%w: %q", errNotStorageEvent, typ)
	}
	var data blobEventData
	if dv, err := unwrapJSON(g.Data); err == nil && jsonKind(dv) == '{' {
		if err := json.Unmarshal(dv, &data); err != nil {
			return core.Event{}, fmt.Errorf("data: %w", err)
		}
	}
	kind, restore := "", (*core.Restore)(nil)
	switch typ {
	case blobCreated:
		kind = core.TypeObjectCreated
	case blobDeleted:
		kind = core.TypeObjectDeleted
	case blobTierChanged:
		kind = core.TypeObjectTiered
		rehydrated := strings.EqualFold(data.PreviousTier, archiveTier) && !strings.EqualFold(data.AccessTier, archiveTier)
		if rehydrated && slices.Contains(t.Kinds(), core.KindObjectRestored) {
			kind, restore = core.TypeObjectRestored, &core.Restore{Phase: core.RestoreCompleted, StorageClass: data.PreviousTier}
		}
	case asyncOperationInitiated:
		kind, restore = core.TypeObjectRestored, &core.Restore{Phase: core.RestoreStarted, StorageClass: archiveTier}
	default:
		return core.Event{}, fmt.Errorf("%w: %q", errNotObjectEvent, typ)
	}
	if !slices.Contains(t.Kinds(), kindOfType[kind]) {
		// A wider subscription than the trigger: acknowledged unread.
		return core.Event{}, fmt.Errorf("%w: %s is not among the trigger's kinds", errNotObjectEvent, typ)
	}
	container, key, err := blobOfEvent(g.Subject, data.URL)
	if err != nil {
		return core.Event{}, err
	}
	obj := &core.Object{
		Bucket:      container,
		Key:         key,
		ContentType: data.ContentType,
		ETag:        strings.Trim(data.ETag, `"`),
		Account:     accountOf(src),
		EventName:   typ,
		Restore:     restore,
	}
	if typ == blobTierChanged {
		obj.StorageClass, obj.PreviousStorageClass = data.AccessTier, data.PreviousTier
	}
	if n, err := metaInt(data.ContentLength); err == nil {
		obj.Size = n
	}
	var at time.Time
	if when != "" {
		if at, err = parseTime(when); err != nil {
			return core.Event{}, err
		}
	}
	return newEvent(kind, g.ID, src, obj, key, at, typ)
}

// blobOfEvent finds the container and blob of a blob event: in the subject,
// "/blobServices/default/containers/<container>/blobs/<blob>", which holds
// the names as they are; else in data.url, which is percent-encoded.
func blobOfEvent(subject, dataURL string) (container, key string, err error) {
	if rest, ok := strings.CutPrefix(strings.TrimPrefix(subject, "/"), "blobServices/default/containers/"); ok {
		if c, k, ok := strings.Cut(rest, "/blobs/"); ok && c != "" && k != "" {
			return c, k, nil
		}
	}
	loc, err := parseBlobURL(dataURL)
	if err != nil {
		return "", "", fmt.Errorf("neither the subject %q nor data.url names a blob: %w", subject, err)
	}
	return loc.container, loc.key, nil
}

// accountOf is the storage account of an event's topic or source,
// "/subscriptions/…/providers/Microsoft.Storage/storageAccounts/<account>".
func accountOf(topic string) string {
	i := strings.LastIndex(strings.ToLower(topic), "/storageaccounts/")
	if i < 0 {
		return ""
	}
	acct, _, _ := strings.Cut(topic[i+len("/storageaccounts/"):], "/")
	return acct
}
