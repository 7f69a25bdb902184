package azurefunctions

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/polyfn/polyfn/core"
)

const nativeCosmosDBTrigger = "cosmosDBTrigger"

// cosmosSystem are the system properties of a Cosmos DB document that the
// change event uses.
type cosmosSystem struct {
	ID   json.RawMessage `json:"id"`
	Self string          `json:"_self"`
	ETag string          `json:"_etag"`
	TS   json.RawMessage `json:"_ts"`
	LSN  json.RawMessage `json:"_lsn"`
}

// decodeChanges decodes a Cosmos DB trigger's payload: the changed
// documents, as the JSON text of an array (captured form,
// "[{\"id\":\"a\",\"_rid\":…,\"_ts\":1656505802,\"_lsn\":9}]"). The change
// feed says neither whether a document was inserted or replaced nor what it
// was before, and it never reports deletions: every change is an OpWrite
// with the document as New.
func decodeChanges(src source, payload json.RawMessage) (decoded, error) {
	v, err := unwrapJSON(payload)
	if err != nil {
		return decoded{}, fmt.Errorf("documents: %w", err)
	}
	docs := []json.RawMessage{v}
	if jsonKind(v) == '[' {
		if err := json.Unmarshal(v, &docs); err != nil {
			return decoded{}, fmt.Errorf("documents: %w", err)
		}
	}
	var d decoded
	for i, doc := range docs {
		e, err := changeEvent(src, i, doc)
		if err != nil {
			return decoded{}, fmt.Errorf("document %d: %w", i, err)
		}
		d.events = append(d.events, e)
	}
	return d, nil
}

func changeEvent(src source, i int, doc json.RawMessage) (core.Event, error) {
	if jsonKind(doc) != '{' {
		return core.Event{}, fmt.Errorf("want an object, got %s", describe(doc))
	}
	var sys cosmosSystem
	if err := json.Unmarshal(doc, &sys); err != nil {
		return core.Event{}, err
	}
	c := &core.Change{Op: core.OpWrite, New: doc, Source: collectionOf(sys.Self)}
	if id, err := metaString(sys.ID); err == nil && id != "" {
		c.ID = id
		c.Key, _ = json.Marshal(map[string]string{"id": id})
	}
	if lsn, err := metaInt(sys.LSN); err == nil {
		c.Sequence = strconv.FormatInt(lsn, 10)
	}
	var t time.Time
	if ts, err := metaInt(sys.TS); err == nil {
		t = time.Unix(ts, 0).UTC()
	}
	// One version of a document keeps its id across redeliveries.
	version := c.Sequence
	if version == "" {
		version = strings.Trim(sys.ETag, `"`)
	}
	id := fmt.Sprintf("%s-%d", src.invocationID, i)
	if c.ID != "" && version != "" {
		id = c.ID + "@" + version
	}
	source := c.Source
	if source == "" {
		source = src.uri()
	}
	if t.IsZero() {
		t = src.now()
	}
	return newEvent(core.TypeChange, id, source, c, c.ID, t, nativeCosmosDBTrigger)
}

// collectionOf is the container's resource path in a document's _self,
// "dbs/<db rid>/colls/<coll rid>/docs/<doc rid>/" → "dbs/<db rid>/colls/<coll rid>".
func collectionOf(self string) string {
	if i := strings.Index(self, "/docs/"); i > 0 {
		return self[:i]
	}
	return ""
}
