package azurefunctionstest

import (
	"crypto/md5"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"
)

// Invocation is the Data and Metadata of one default-mode invocation, each
// value already encoded as the host encodes it (Encode).
type Invocation struct {
	Data     map[string]json.RawMessage
	Metadata map[string]json.RawMessage
	// Traceparent, when set, is sent on the host's request.
	Traceparent string
}

// DateTime is a .NET DateTime of kind UTC, such as Service Bus's
// EnqueuedTimeUtc: the host writes it without an offset.
type DateTime time.Time

// Encode returns v encoded as the host encodes a binding value
// (ScriptInvocationContextExtensions.GetHttpScriptInvocationContextValue):
//
//   - []byte: a base64 string;
//   - time.Time (a DateTimeOffset): "2006-01-02T15:04:05+00:00", no fraction;
//   - DateTime: the same without the offset;
//   - a map, a struct or a json.RawMessage object: the object itself;
//   - anything else (strings, numbers, arrays, URIs): its JSON text, sent as
//     a JSON string, so "abc" is "\"abc\"" and 1 is "1".
func Encode(v any) json.RawMessage {
	switch v := v.(type) {
	case nil:
		return json.RawMessage("null")
	case []byte:
		return mustJSON(base64.StdEncoding.EncodeToString(v))
	case time.Time:
		return mustJSON(v.UTC().Format("2006-01-02T15:04:05-07:00"))
	case DateTime:
		return mustJSON(time.Time(v).UTC().Format("2006-01-02T15:04:05"))
	case json.RawMessage:
		if isObject(v) {
			return v
		}
		return mustJSON(string(v))
	}
	b := mustJSON(v)
	if isObject(b) {
		return b
	}
	return mustJSON(string(b))
}

func isObject(b []byte) bool {
	s := strings.TrimSpace(string(b))
	return strings.HasPrefix(s, "{")
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("azurefunctionstest: encoding %T: %v", v, err))
	}
	return b
}

// Sys is Metadata.sys, which the host adds to every invocation.
func Sys(function string, now time.Time) json.RawMessage {
	return mustJSON(map[string]string{
		"MethodName": function,
		"UtcNow":     now.UTC().Format("2006-01-02T15:04:05.0000000Z"),
		"RandGuid":   newUUID(),
	})
}

// anonymousIdentity is the Identities entry of a request without App
// Service authentication (captured).
var anonymousIdentity = json.RawMessage(`{"AuthenticationType":null,"IsAuthenticated":false,"Actor":null,` +
	`"BootstrapContext":null,"Claims":[],"Label":null,"Name":null,` +
	`"NameClaimType":"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name",` +
	`"RoleClaimType":"http://schemas.microsoft.com/ws/2008/06/identity/claims/role"}`)

// HTTPTrigger is the invocation of an HTTP function for the client's
// request r, whose URL is absolute as the host saw it
// (https://<app>.azurewebsites.net/api/users?x=1), and its body. Data.req
// follows the captures: Query with repeated values comma-joined, Headers as
// arrays with Host, Body as text, or base64 for application/octet-stream
// and multipart/*, absent when empty. Metadata flattens Query and Headers
// and adds each query parameter JSON-quoted.
func HTTPTrigger(r *http.Request, body []byte) Invocation {
	query := map[string]string{}
	metaQuery := map[string]string{}
	meta := map[string]json.RawMessage{}
	for k, vs := range r.URL.Query() {
		query[k] = strings.Join(vs, ",")
		metaQuery[k] = vs[len(vs)-1]
		meta[k] = Encode(vs[len(vs)-1])
	}
	headers := map[string][]string{"Host": {r.Host}}
	flat := map[string]string{"Host": r.Host}
	if len(body) > 0 {
		headers["Content-Length"] = []string{fmt.Sprint(len(body))}
		flat["Content-Length"] = fmt.Sprint(len(body))
	}
	for k, vs := range r.Header {
		headers[k] = vs
		flat[k] = strings.Join(vs, ",")
	}
	req := map[string]any{
		"Url":        r.URL.String(),
		"Method":     r.Method,
		"Query":      query,
		"Headers":    headers,
		"Params":     map[string]string{},
		"Identities": []json.RawMessage{anonymousIdentity},
	}
	if len(body) > 0 {
		if isOctetOrMultipart(r.Header.Get("Content-Type")) {
			req["Body"] = base64.StdEncoding.EncodeToString(body)
		} else {
			// The host reads the body as UTF-8 text: each invalid byte becomes U+FFFD.
			req["Body"] = string([]rune(string(body)))
		}
	}
	meta["Query"] = mustJSON(metaQuery)
	meta["Headers"] = mustJSON(flat)
	return Invocation{
		Data:     map[string]json.RawMessage{"req": mustJSON(req)},
		Metadata: meta,
	}
}

func isOctetOrMultipart(contentType string) bool {
	mt, _, _ := mime.ParseMediaType(contentType)
	return mt == "application/octet-stream" || strings.Contains(mt, "multipart/")
}

// Blob is a blob as a blob trigger delivers it.
type Blob struct {
	// URI is the blob's URL, percent-encoded.
	URI          string
	Content      []byte
	ContentType  string
	ETag         string // without quotes; the host sends it quoted
	LastModified time.Time
	// Tokens are the values of the path pattern's {tokens}, such as name.
	Tokens map[string]string
	// ContentLength names the size property ContentLength, as newer
	// extensions do, instead of Length.
	ContentLength bool
}

// BlobTrigger is a blob trigger's invocation (captured form): the content in
// Data.blob as base64, the Uri JSON-quoted and the Properties object in
// Metadata; no BlobTrigger key, since the host drops keys ending in "Trigger".
func BlobTrigger(b Blob) Invocation {
	sum := md5.Sum(b.Content)
	props := map[string]any{
		"CacheControl":      nil,
		"ContentEncoding":   nil,
		"ContentMD5":        base64.StdEncoding.EncodeToString(sum[:]),
		"ContentType":       b.ContentType,
		"ETag":              `"` + b.ETag + `"`,
		"Created":           b.LastModified.UTC().Format("2006-01-02T15:04:05-07:00"),
		"LastModified":      b.LastModified.UTC().Format("2006-01-02T15:04:05-07:00"),
		"BlobType":          2,
		"LeaseStatus":       2,
		"IsServerEncrypted": true,
	}
	if b.ContentLength {
		props["ContentLength"] = len(b.Content)
	} else {
		props["Length"] = len(b.Content)
	}
	meta := map[string]json.RawMessage{
		"Uri":        Encode(b.URI),
		"Properties": mustJSON(props),
		"Metadata":   json.RawMessage(`{}`),
	}
	for k, v := range b.Tokens {
		meta[k] = Encode(v)
	}
	return Invocation{Data: map[string]json.RawMessage{"blob": Encode(b.Content)}, Metadata: meta}
}

// QueueMessage is a Queue Storage message.
type QueueMessage struct {
	ID            string
	Text          string
	DequeueCount  int
	InsertionTime time.Time
}

// QueueTrigger is a queue trigger's invocation (captured form): the text
// JSON-encoded twice, DequeueCount as text, Id and PopReceipt JSON-quoted.
func QueueTrigger(m QueueMessage) Invocation {
	return Invocation{
		Data: map[string]json.RawMessage{"message": Encode(m.Text)},
		Metadata: map[string]json.RawMessage{
			"DequeueCount":    Encode(m.DequeueCount),
			"ExpirationTime":  Encode(m.InsertionTime.Add(7 * 24 * time.Hour)),
			"Id":              Encode(m.ID),
			"InsertionTime":   Encode(m.InsertionTime),
			"NextVisibleTime": Encode(m.InsertionTime.Add(10 * time.Minute)),
			"PopReceipt":      Encode("AgAAAAMAAAAAAAAA8d5gQex+2AE="),
		},
	}
}

// ServiceBusMessage is a Service Bus message.
type ServiceBusMessage struct {
	MessageID      string
	Body           []byte
	DeliveryCount  int
	EnqueuedTime   time.Time
	SessionID      string
	SequenceNumber int64
	ContentType    string
	Properties     map[string]any
	// Binary sends the body as base64, as with "dataType": "binary";
	// otherwise as text, JSON-encoded twice.
	Binary bool
	// UserProperties names the properties UserProperties only, as the
	// extension's older versions do.
	UserProperties bool
	// The routing and broker properties, sent when set; ExpiresAt defaults
	// to 14 days after EnqueuedTime.
	CorrelationID, Subject, To, ReplyTo              string
	DeadLetterSource, ReplyToSessionID, PartitionKey string
	ExpiresAt                                        time.Time
}

// ServiceBusTrigger is a Service Bus trigger's invocation, from the
// binding data of ServiceBusTriggerBindingStrategy encoded by the host's
// rules: counters as text, strings JSON-quoted, DateTimes without offset,
// nulls left out, the message actions opaque objects.
func ServiceBusTrigger(m ServiceBusMessage) Invocation {
	body := Encode(string(m.Body))
	if m.Binary {
		body = Encode(m.Body)
	}
	meta := map[string]json.RawMessage{
		"MessageId":       Encode(m.MessageID),
		"DeliveryCount":   Encode(m.DeliveryCount),
		"EnqueuedTimeUtc": Encode(DateTime(m.EnqueuedTime)),
		"EnqueuedTime":    Encode(m.EnqueuedTime),
		"ExpiresAtUtc":    Encode(DateTime(m.EnqueuedTime.Add(14 * 24 * time.Hour))),
		"SequenceNumber":  Encode(m.SequenceNumber),
		"LockToken":       Encode(newUUID()),
		"MessageActions":  json.RawMessage(`{}`),
		"Client":          json.RawMessage(`{"FullyQualifiedNamespace":"polyfn.servicebus.windows.net","IsClosed":false}`),
	}
	if m.SessionID != "" {
		meta["SessionId"] = Encode(m.SessionID)
	}
	if m.ContentType != "" {
		meta["ContentType"] = Encode(m.ContentType)
	}
	if !m.ExpiresAt.IsZero() {
		meta["ExpiresAtUtc"] = Encode(DateTime(m.ExpiresAt))
		meta["ExpiresAt"] = Encode(m.ExpiresAt)
	}
	for k, v := range map[string]string{"CorrelationId": m.CorrelationID, "Subject": m.Subject, "Label": m.Subject,
		"To": m.To, "ReplyTo": m.ReplyTo, "DeadLetterSource": m.DeadLetterSource, "ReplyToSessionId": m.ReplyToSessionID,
		"PartitionKey": m.PartitionKey, "TransactionPartitionKey": m.PartitionKey} {
		if v != "" {
			meta[k] = Encode(v)
		}
	}
	if m.Properties != nil {
		props := mustJSON(m.Properties)
		meta["UserProperties"] = props
		if !m.UserProperties {
			meta["ApplicationProperties"] = props
		}
	}
	return Invocation{Data: map[string]json.RawMessage{"message": body}, Metadata: meta}
}

// CosmosDBTrigger is a Cosmos DB trigger's invocation (captured form): the
// documents as the JSON text of one array; Metadata holds only sys.
func CosmosDBTrigger(docs ...json.RawMessage) Invocation {
	return Invocation{Data: map[string]json.RawMessage{"documents": Encode(json.RawMessage(mustJSON(docs)))}}
}

// ScheduleStatus is a timer's monitor status.
type ScheduleStatus struct {
	Last, Next, LastUpdated time.Time
}

// TimerTrigger is a timer trigger's invocation (documented TimerInfo,
// captured with a null ScheduleStatus): an object, as the host keeps POCOs.
// A retry count of 1 or more adds the RetryContext of a retry policy.
func TimerTrigger(status *ScheduleStatus, pastDue bool, retryCount int) Invocation {
	info := map[string]any{"Schedule": map[string]bool{"AdjustForDST": true}, "ScheduleStatus": nil, "IsPastDue": pastDue}
	if status != nil {
		iso := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
		info["ScheduleStatus"] = map[string]string{"Last": iso(status.Last), "Next": iso(status.Next), "LastUpdated": iso(status.LastUpdated)}
	}
	inv := Invocation{Data: map[string]json.RawMessage{"timer": mustJSON(info)}, Metadata: map[string]json.RawMessage{}}
	if retryCount > 0 {
		inv.Metadata["RetryContext"] = mustJSON(map[string]any{"RetryCount": retryCount, "MaxRetryCount": 5, "Exception": nil})
	}
	return inv
}

// EventGridTrigger is an Event Grid trigger's invocation of one event (in
// the Event Grid or the CloudEvents schema): the event's JSON text,
// encoded as a string as the host encodes the trigger's default string
// binding. This form is derived from the host's code; no capture exists.
func EventGridTrigger(event json.RawMessage) Invocation {
	return Invocation{Data: map[string]json.RawMessage{"event": Encode(string(event))}}
}
