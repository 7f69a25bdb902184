package main

import (
	"bytes"
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// azureInvocation is the body the Functions host POSTs to a custom
// handler for a default-mode invocation: each input binding's value by
// its name, and the trigger's metadata, many of whose values are JSON
// text in a string, as the host serializes them.
type azureInvocation struct {
	Data     map[string]any `json:"Data"`
	Metadata map[string]any `json:"Metadata"`
}

// azureSys is the host's sys metadata of an invocation of function fn.
type azureSys struct {
	MethodName string `json:"MethodName"`
	UtcNow     string `json:"UtcNow"`
	RandGuid   string `json:"RandGuid"`
}

// The function names of the Azure samples, the --url polyfn inspect takes
// them on: /<name>.
var azureFunctions = map[string]string{
	"servicebus": "on-bus", "queue": "on-queue", "eventgrid": "on-upload", "cosmos": "on-change", "timer": "on-timer", "eventhubs": "on-stream",
}

const azureNet = "2006-01-02T15:04:05.0000000Z"

// jsonText is v's JSON encoding as a string, as the host puts JSON in a
// metadata value.
func jsonText(v any) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

func azureInvoke(source string, p eventParams, data map[string]any, meta map[string]any) azureInvocation {
	meta["sys"] = azureSys{MethodName: azureFunctions[source], UtcNow: p.now.Format(azureNet), RandGuid: newUUID()}
	return azureInvocation{Data: data, Metadata: meta}
}

func mustText(v any) string {
	s, err := jsonText(v)
	if err != nil {
		panic(err) // strings, numbers and maps of them always encode
	}
	return s
}

// azureServiceBus is a Service Bus queue message, as its trigger binding
// "message" gives it.
func azureServiceBus(p eventParams) (any, error) {
	id := strings.ReplaceAll(newUUID(), "-", "")
	lock := newUUID()
	props := map[string]any{"tenant": "t-1"}
	return azureInvoke("servicebus", p, map[string]any{"message": mustText(string(p.body))}, map[string]any{
		"MessageId":             mustText(id),
		"DeliveryCount":         "1",
		"EnqueuedTimeUtc":       p.now.Format("2006-01-02T15:04:05"),
		"EnqueuedTime":          p.now.Format("2006-01-02T15:04:05+00:00"),
		"ExpiresAtUtc":          p.now.AddDate(0, 0, 14).Format("2006-01-02T15:04:05"),
		"SequenceNumber":        "1",
		"ContentType":           mustText("application/json"),
		"LockToken":             mustText(lock),
		"ApplicationProperties": props,
		"UserProperties":        props,
		"MessageActions":        map[string]any{},
		"SessionActions":        map[string]any{},
		"Client":                map[string]any{"FullyQualifiedNamespace": "polyfn.servicebus.windows.net", "IsClosed": false},
	}), nil
}

// azureQueue is a Queue Storage message, as its trigger binding "inMsg"
// gives it.
func azureQueue(p eventParams) (any, error) {
	return azureInvoke("queue", p, map[string]any{"inMsg": mustText(string(p.body))}, map[string]any{
		"DequeueCount":    "1",
		"ExpirationTime":  p.now.AddDate(0, 0, 7).Format("2006-01-02T15:04:05+00:00"),
		"Id":              mustText(newUUID()),
		"InsertionTime":   p.now.Format("2006-01-02T15:04:05+00:00"),
		"NextVisibleTime": p.now.Add(10 * time.Minute).Format("2006-01-02T15:04:05+00:00"),
		"PopReceipt":      mustText("AgAAAAMAAAAAAAAA8d5gQex+2AE="),
	}), nil
}

// gridEvent is an Event Grid event in its own schema.
type gridEvent struct {
	Topic           string       `json:"topic"`
	Subject         string       `json:"subject"`
	EventType       string       `json:"eventType"`
	ID              string       `json:"id"`
	Data            gridBlobData `json:"data"`
	DataVersion     string       `json:"dataVersion"`
	MetadataVersion string       `json:"metadataVersion"`
	EventTime       time.Time    `json:"eventTime"`
}

// gridBlobData is the data of a Blob Storage event.
type gridBlobData struct {
	API                string            `json:"api"`
	ClientRequestID    string            `json:"clientRequestId"`
	RequestID          string            `json:"requestId"`
	ETag               string            `json:"eTag,omitempty"`
	ContentType        string            `json:"contentType"`
	ContentLength      int64             `json:"contentLength,omitempty"`
	BlobType           string            `json:"blobType"`
	URL                string            `json:"url"`
	Sequencer          string            `json:"sequencer"`
	StorageDiagnostics map[string]string `json:"storageDiagnostics"`
}

// azureEventGrid is a Blob Storage event (BlobCreated, BlobDeleted) as an
// eventGridTrigger binding "event" gives it.
func azureEventGrid(p eventParams) (any, error) {
	account := "polyfnmedia"
	u := url.URL{Scheme: "https", Host: account + ".blob.core.windows.net", Path: "/" + p.bucket + "/" + p.key}
	ev := gridEvent{
		Topic:     "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/" + account,
		Subject:   "/blobServices/default/containers/" + p.bucket + "/blobs/" + p.key,
		ID:        newUUID(),
		EventTime: p.now,
		Data: gridBlobData{ClientRequestID: newUUID(), RequestID: newUUID(), ContentType: "image/jpeg", BlobType: "BlockBlob",
			URL: u.String(), Sequencer: "00000000000004420000000000028963", StorageDiagnostics: map[string]string{"batchId": newUUID()}},
		MetadataVersion: "1",
	}
	switch p.kind {
	case "object_created":
		ev.EventType, ev.Data.API, ev.Data.ETag, ev.Data.ContentLength = "Microsoft.Storage.BlobCreated", "PutBlob", "0x8D4BCC2E4835CD0", 1024
	case "object_deleted":
		ev.EventType, ev.Data.API = "Microsoft.Storage.BlobDeleted", "DeleteBlob"
	default:
		return nil, fmt.Errorf("eventgrid sends no %q events", p.kind)
	}
	return azureInvoke("eventgrid", p, map[string]any{"event": ev}, map[string]any{}), nil
}

// azureCosmos is a Cosmos DB change feed batch of the --body document, as
// the cosmosDBTrigger binding "documents" gives it.
func azureCosmos(p eventParams) (any, error) {
	d := json.NewDecoder(bytes.NewReader(p.body))
	d.UseNumber()
	var doc map[string]any
	if err := d.Decode(&doc); err != nil || doc == nil {
		return nil, fmt.Errorf("--body: a Cosmos DB document is a JSON object: %v", err)
	}
	if _, ok := doc["id"]; !ok {
		doc["id"] = newUUID()
	}
	doc["_rid"] = "a=="
	doc["_self"] = "dbs/d==/colls/c=/docs/a==/"
	doc["_etag"] = mustText(newUUID())
	doc["_attachments"] = "attachments/"
	doc["_ts"] = p.now.Unix()
	doc["_lsn"] = 1
	docs, err := jsonText([]any{doc})
	if err != nil {
		return nil, err
	}
	return azureInvoke("cosmos", p, map[string]any{"documents": docs}, map[string]any{}), nil
}

// azureTimerInfo is a timerTrigger binding's value.
type azureTimerInfo struct {
	Schedule       map[string]bool   `json:"Schedule"`
	ScheduleStatus map[string]string `json:"ScheduleStatus"`
	IsPastDue      bool              `json:"IsPastDue"`
}

// azureTimer is a timer firing, due at the last whole 5 minutes.
func azureTimer(p eventParams) (any, error) {
	due := p.now.Truncate(5 * time.Minute)
	return azureInvoke("timer", p, map[string]any{"timer": azureTimerInfo{
		Schedule: map[string]bool{"AdjustForDST": true},
		ScheduleStatus: map[string]string{
			"Last":        due.Add(-5 * time.Minute).Format(time.RFC3339),
			"Next":        due.Format(time.RFC3339),
			"LastUpdated": due.Add(-5 * time.Minute).Format(azureNet),
		},
	}}, map[string]any{}), nil
}

// azureEventHubs is an Event Hubs batch of one event, as an
// eventHubTrigger binding "records" of cardinality many gives it.
func azureEventHubs(p eventParams) (any, error) {
	enq := p.now.Format("2006-01-02T15:04:05.000")
	return azureInvoke("eventhubs", p, map[string]any{"records": mustText([][]byte{p.body})}, map[string]any{
		"CheckpointContext": map[string]any{},
		"PartitionContext": map[string]any{"IsCheckpointingAfterInvocation": true, "FullyQualifiedNamespace": "polyfn.servicebus.windows.net",
			"EventHubName": "clicks", "ConsumerGroup": "$Default", "PartitionId": "0"},
		"PartitionKeyArray":     mustText([]string{"user-1"}),
		"OffsetArray":           mustText([]string{"4294967296"}),
		"SequenceNumberArray":   mustText([]int{1041}),
		"EnqueuedTimeUtcArray":  mustText([]string{enq}),
		"PropertiesArray":       mustText([]map[string]any{{}}),
		"SystemPropertiesArray": mustText([]map[string]any{{"x-opt-sequence-number": 1041, "x-opt-offset": 4294967296, "x-opt-enqueued-time": p.now.Format("2006-01-02T15:04:05.000+00:00"), "x-opt-partition-key": "user-1", "SequenceNumber": 1041, "Offset": 4294967296, "PartitionKey": "user-1", "EnqueuedTimeUtc": enq}}),
	}), nil
}

// azureBlobProperties are the blob trigger's Properties metadata, the
// members the host always sends.
type azureBlobProperties struct {
	Length            int64  `json:"Length"`
	ContentMD5        string `json:"ContentMD5"`
	ContentType       string `json:"ContentType"`
	ETag              string `json:"ETag"`
	Created           string `json:"Created"`
	LastModified      string `json:"LastModified"`
	BlobType          int    `json:"BlobType"`
	LeaseStatus       int    `json:"LeaseStatus"`
	LeaseState        int    `json:"LeaseState"`
	IsServerEncrypted bool   `json:"IsServerEncrypted"`
}

// azureBlob is a blobTrigger invocation of a new blob whose content is the
// --body, as the binding "blobIn" gives it (base64) with the blob's Uri,
// Properties and name.
func azureBlob(p eventParams) (any, error) {
	if p.kind != "object_created" {
		return nil, fmt.Errorf("blob sends no %q events", p.kind)
	}
	u := url.URL{Scheme: "https", Host: "polyfnmedia.blob.core.windows.net", Path: "/" + p.bucket + "/" + p.key}
	sum := md5.Sum(p.body)
	ts := p.now.Format("2006-01-02T15:04:05+00:00")
	name := p.key
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}
	inv := azureInvoke("eventgrid", p, map[string]any{"blobIn": p.body}, map[string]any{
		"Uri": mustText(u.String()),
		"Properties": azureBlobProperties{Length: int64(len(p.body)), ContentMD5: base64.StdEncoding.EncodeToString(sum[:]),
			ContentType: "application/octet-stream", ETag: mustText("0x8DA6E28262505DD"), Created: ts, LastModified: ts,
			BlobType: 2, LeaseStatus: 2, LeaseState: 1, IsServerEncrypted: true},
		"Metadata": map[string]string{},
		"name":     mustText(name),
	})
	return inv, nil
}
