package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloudevents/sdk-go/v2/types"

	"github.com/polyfn/polyfn/adapters/awslambda"
	"github.com/polyfn/polyfn/core"
)

// inspection is the published JSON form of one decoded invocation
// (docs/events.md, "The JSON form of an invocation"). Every key is always
// present; what an invocation does not have is null, or an empty array.
type inspection struct {
	Kind         string        `json:"kind"`
	InvocationID *string       `json:"invocation_id"`
	EventID      *string       `json:"event_id"`
	Deadline     deadlineJSON  `json:"deadline"`
	Trace        *traceJSON    `json:"trace"`
	Source       *string       `json:"source"`
	CE           *ceJSON       `json:"ce"`
	HTTP         *httpJSON     `json:"http"`
	Objects      []objectJSON  `json:"objects"`
	Messages     []messageJSON `json:"messages"`
	Changes      []changeJSON  `json:"changes"`
	Timer        *timerJSON    `json:"timer"`
	// Records are a stream trigger's records; left out for other triggers.
	Records []recordJSON `json:"records,omitempty"`
}

// deadlineJSON is when the invocation's context ends. A deadline that the
// payload fixes (Lambda-Runtime-Deadline-Ms) is shown as that time,
// unix_ms; one that runs from the invocation's start (a unit's declared
// timeout, Cloud Run's request timeout, Azure's functionTimeout) as its
// length, timeout_ms, in whole seconds as every timeout is, which does not
// depend on when inspect ran.
type deadlineJSON struct {
	Present   bool   `json:"present"`
	UnixMS    *int64 `json:"unix_ms"`
	TimeoutMS *int64 `json:"timeout_ms"`
}

// deadlineOf is the JSON form of an invocation's deadline; in is the
// inspection, whose Lambda-Runtime-Deadline-Ms header, if any, is the
// deadline the payload fixes.
func deadlineOf(deadline time.Time, in inspectInput) deadlineJSON {
	if deadline.IsZero() {
		return deadlineJSON{}
	}
	ms := deadline.UnixMilli()
	if sent := in.header.Get(awslambda.HeaderDeadline); sent != "" && sent == strconv.FormatInt(ms, 10) {
		return deadlineJSON{Present: true, UnixMS: &ms}
	}
	timeout := deadline.Sub(in.start).Round(time.Second).Milliseconds()
	return deadlineJSON{Present: true, TimeoutMS: &timeout}
}

type traceJSON struct {
	Format  string `json:"format"`
	TraceID string `json:"trace_id"`
	Raw     string `json:"raw"`
}

type ceJSON struct {
	Type            string            `json:"type"`
	Source          string            `json:"source"`
	Subject         *string           `json:"subject"`
	Time            *string           `json:"time"`
	DataContentType *string           `json:"datacontenttype"`
	Extensions      map[string]string `json:"extensions"`
}

type httpJSON struct {
	Method      string              `json:"method"`
	Path        string              `json:"path"`
	Query       map[string][]string `json:"query"`
	Headers     map[string][]string `json:"headers"`
	BodyBase64  []byte              `json:"body_base64"`
	RouteParams map[string]string   `json:"route_params"`
	Cookies     []cookieJSON        `json:"cookies"`
	SourceIP    *string             `json:"source_ip"`
}

type cookieJSON struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type objectJSON struct {
	Bucket        string  `json:"bucket"`
	Key           string  `json:"key"`
	Size          int64   `json:"size"`
	ETag          *string `json:"etag"`
	Version       *string `json:"version"`
	ContentType   *string `json:"content_type"`
	Account       *string `json:"account"`
	ContentBase64 []byte  `json:"content_base64"`
	Event         *string `json:"event"`
	// The fields of the object kinds past creation and removal, left out
	// when unset.
	StorageClass         string            `json:"storage_class,omitempty"`
	PreviousStorageClass string            `json:"previous_storage_class,omitempty"`
	Expired              bool              `json:"expired,omitempty"`
	Restore              *core.Restore     `json:"restore,omitempty"`
	Replication          *core.Replication `json:"replication,omitempty"`
}

// recordJSON is a stream record (core.Record) with the event's id.
type recordJSON struct {
	ID          string            `json:"id"`
	Stream      string            `json:"stream"`
	Partition   string            `json:"partition"`
	Key         *string           `json:"key"`
	Sequence    string            `json:"sequence"`
	Offset      *string           `json:"offset"`
	ArrivalTime *string           `json:"arrival_time"`
	DataBase64  []byte            `json:"data_base64"`
	Headers     map[string]string `json:"headers"`
}

type messageJSON struct {
	ID            string            `json:"id"`
	BodyBase64    []byte            `json:"body_base64"`
	Attributes    map[string]string `json:"attributes"`
	DeliveryCount *int              `json:"delivery_count"`
	PublishTime   *string           `json:"publish_time"`
	OrderingKey   *string           `json:"ordering_key"`
	GroupID       *string           `json:"group_id"`
	DedupID       *string           `json:"dedup_id"`
	Sequence      *string           `json:"sequence"`
	Subscription  *string           `json:"subscription"`
	ContentType   *string           `json:"content_type"`
	// The broker's routing properties and its others by their platform
	// names (Service Bus); left out where the platform carries none.
	CorrelationID string            `json:"correlation_id,omitempty"`
	Subject       string            `json:"subject,omitempty"`
	ReplyTo       string            `json:"reply_to,omitempty"`
	To            string            `json:"to,omitempty"`
	ExpiresAt     *string           `json:"expires_at,omitempty"`
	Broker        map[string]string `json:"broker,omitempty"`
	Trace         *traceJSON        `json:"trace"`
	Unwrapped     *unwrappedJSON    `json:"unwrapped"`
	BodyIsJSON    bool              `json:"body_is_json"`
}

type unwrappedJSON struct {
	Kind       string            `json:"kind"`
	ID         string            `json:"id"`
	Topic      string            `json:"topic"`
	Subject    *string           `json:"subject"`
	Message    string            `json:"message"`
	Attributes map[string]string `json:"attributes"`
}

type changeJSON struct {
	Op         string          `json:"op"`
	ID         *string         `json:"id"`
	Sequence   *string         `json:"sequence"`
	Document   *string         `json:"document"`
	Key        json.RawMessage `json:"key"`
	New        json.RawMessage `json:"new"`
	Old        json.RawMessage `json:"old"`
	UpdateMask []string        `json:"update_mask"`
	ByTTL      bool            `json:"by_ttl"`
}

type timerJSON struct {
	Name          string  `json:"name"`
	ScheduledTime *string `json:"scheduled_time"`
	PastDue       bool    `json:"past_due"`
	Attempt       *int    `json:"attempt"`
	PayloadBase64 []byte  `json:"payload_base64"`
}

// kindOfTrigger is the invocation kind each --trigger delivers.
var kindOfTrigger = map[string][]core.Kind{
	"object":  core.ObjectKinds,
	"stream":  {core.KindRecord},
	"message": {core.KindMessage},
	"change":  {core.KindChange},
	"timer":   {core.KindTimer},
}

// invocationKind names the kind of an invocation of events of kind k.
var invocationKind = map[core.Kind]string{
	core.KindObjectCreated:     "object_created",
	core.KindObjectDeleted:     "object_deleted",
	core.KindObjectTiered:      "object_tiered",
	core.KindObjectRestored:    "object_restored",
	core.KindObjectUpdated:     "object_updated",
	core.KindObjectReplication: "object_replication",
	core.KindRecord:            "records",
	core.KindMessage:           "messages",
	core.KindChange:            "db_changes",
	core.KindTimer:             "timer",
}

// groupedNativeTypes are the message events whose ordering key is a
// message group: SQS FIFO's MessageGroupId, a Service Bus session.
var groupedNativeTypes = map[string]bool{"aws:sqs": true, "serviceBusTrigger": true}

// encodeDelivery renders d, the delivery of inspection in, in the JSON
// form. in.trigger is the --trigger the delivery must suit; route, if any,
// the app's route pattern whose wildcards give route_params.
func encodeDelivery(d *core.Delivery, in inspectInput, route string) (*inspection, error) {
	inv, trigger := d.Invocation, in.trigger
	out := &inspection{
		InvocationID: str(inv.ID),
		Deadline:     deadlineOf(inv.Deadline, in),
		Trace:        traceOf(inv.Trace),
		Objects:      []objectJSON{},
		Messages:     []messageJSON{},
		Changes:      []changeJSON{},
	}
	if d.Request != nil {
		if trigger != "http" {
			return nil, fmt.Errorf("the payload is an HTTP request, which a %s trigger does not deliver; use --trigger http", trigger)
		}
		out.Kind, out.EventID = "http", str(d.RequestID)
		var err error
		out.HTTP, err = encodeRequest(d.Request, route)
		return out, err
	}
	if trigger == "http" {
		return nil, fmt.Errorf("the payload is not an HTTP request: it delivers events; use the --trigger of their kind")
	}
	if len(d.Events) == 0 {
		return nil, fmt.Errorf("the payload holds no event a %s trigger delivers: the function would not be called", trigger)
	}
	first := d.Events[0]
	for _, e := range d.Events {
		switch {
		case e.Kind() == core.KindCustom:
			return nil, fmt.Errorf("the event %q is of type %q, which polyfn does not model: the function receives it as a custom event, with the data as sent", e.ID(), e.Type())
		case !slices.Contains(kindOfTrigger[trigger], e.Kind()):
			return nil, fmt.Errorf("the payload delivers %s events, which a %s trigger does not; use --trigger %s", e.Kind(), trigger, triggerOfKind(e.Kind()))
		case e.Kind() != first.Kind():
			return nil, fmt.Errorf("the payload mixes %s and %s events", first.Kind(), e.Kind())
		}
	}
	out.Kind = invocationKind[first.Kind()]
	if len(d.Events) == 1 {
		out.EventID, out.CE = str(first.ID()), encodeContext(first)
	}
	out.Source = str(first.Source())
	for _, e := range d.Events[1:] {
		if e.Source() != first.Source() {
			out.Source = nil
		}
	}
	for _, e := range d.Events {
		switch {
		case e.Object != nil:
			out.Objects = append(out.Objects, encodeObject(e.Object))
		case e.Message != nil:
			out.Messages = append(out.Messages, encodeMessage(e))
		case e.Change != nil:
			out.Changes = append(out.Changes, encodeChange(e.Change))
		case e.Timer != nil:
			out.Timer = encodeTimer(e.Timer)
		case e.Record != nil:
			out.Records = append(out.Records, encodeRecord(e))
		}
	}
	return out, nil
}

func triggerOfKind(k core.Kind) string {
	for t, kinds := range kindOfTrigger {
		if slices.Contains(kinds, k) {
			return t
		}
	}
	return "?"
}

// encodeContext is the CloudEvents context of the event a function receives.
func encodeContext(e core.Event) *ceJSON {
	c := &ceJSON{Type: e.Type(), Source: e.Source(), Subject: str(e.Subject()), Extensions: map[string]string{}}
	if t := e.Time(); !t.IsZero() {
		c.Time = timeStr(t)
	}
	ct := e.DataContentType()
	if ct == "" && e.Kind() != core.KindCustom {
		ct = "application/json" // the typed data's, as the event's JSON form gives it
	}
	c.DataContentType = str(ct)
	for name, v := range e.Extensions() {
		s, err := types.Format(v)
		if err != nil {
			s = fmt.Sprint(v)
		}
		c.Extensions[name] = s
	}
	return c
}

// encodeRequest renders the request an app's handler receives.
func encodeRequest(r *http.Request, route string) (*httpJSON, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h := &httpJSON{
		Method:      r.Method,
		Path:        r.URL.Path,
		Query:       map[string][]string(r.URL.Query()),
		Headers:     map[string][]string{},
		BodyBase64:  body,
		RouteParams: map[string]string{},
		Cookies:     []cookieJSON{},
	}
	if h.BodyBase64 == nil {
		h.BodyBase64 = []byte{}
	}
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		h.Headers[lk] = append(h.Headers[lk], vs...)
	}
	for _, c := range r.Cookies() {
		h.Cookies = append(h.Cookies, cookieJSON{Name: c.Name, Value: c.Value})
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		h.SourceIP = str(host)
	} else {
		h.SourceIP = str(r.RemoteAddr)
	}
	if route != "" {
		if h.RouteParams, err = routeParams(r, route); err != nil {
			return nil, err
		}
	}
	return h, nil
}

var wildcard = regexp.MustCompile(`\{([^}.$]+)(?:\.\.\.)?\}`)

// routeParams routes r with an app declaring the one route pattern, as the
// function's app would, and returns the values of its wildcards.
func routeParams(r *http.Request, pattern string) (params map[string]string, err error) {
	defer func() {
		if v := recover(); v != nil { // an invalid pattern
			err = fmt.Errorf("--route %q: %v", pattern, v)
		}
	}()
	app := core.NewApp("inspect")
	app.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		params = map[string]string{}
		for _, m := range wildcard.FindAllStringSubmatch(pattern, -1) {
			params[m[1]] = r.PathValue(m[1])
		}
	})
	w := httptest.NewRecorder()
	app.HTTPHandler().ServeHTTP(w, r.Clone(r.Context()))
	if params == nil {
		return nil, fmt.Errorf("--route %q does not match %s %s: the app answers %d", pattern, r.Method, r.URL.EscapedPath(), w.Code)
	}
	return params, nil
}

func encodeObject(o *core.Object) objectJSON {
	return objectJSON{
		Bucket: o.Bucket, Key: o.Key, Size: o.Size, ETag: str(o.ETag), Version: str(o.Version),
		ContentType: str(o.ContentType), Account: str(o.Account), ContentBase64: o.Content, Event: str(o.EventName),
		StorageClass: o.StorageClass, PreviousStorageClass: o.PreviousStorageClass, Expired: o.Expired,
		Restore: o.Restore, Replication: o.Replication,
	}
}

func encodeRecord(e core.Event) recordJSON {
	r := e.Record
	out := recordJSON{
		ID: e.ID(), Stream: r.Stream, Partition: r.Partition, Key: str(r.Key), Sequence: r.Sequence, Offset: str(r.Offset),
		DataBase64: r.Data, Headers: r.Headers,
	}
	if !r.ArrivalTime.IsZero() {
		out.ArrivalTime = timeStr(r.ArrivalTime)
	}
	if out.DataBase64 == nil {
		out.DataBase64 = []byte{}
	}
	if out.Headers == nil {
		out.Headers = map[string]string{}
	}
	return out
}

func encodeMessage(e core.Event) messageJSON {
	m := e.Message
	out := messageJSON{
		ID: m.ID, BodyBase64: m.Body, Attributes: m.Attributes, DeliveryCount: count(m.DeliveryCount),
		OrderingKey: str(m.OrderingKey), DedupID: str(m.DedupID), Sequence: str(m.Sequence),
		Subscription: str(m.Subscription), ContentType: str(m.ContentType),
		CorrelationID: m.CorrelationID, Subject: m.Subject, ReplyTo: m.ReplyTo, To: m.To, Broker: m.Broker,
		BodyIsJSON: len(bytes.TrimSpace(m.Body)) > 0 && json.Valid(m.Body),
	}
	if !m.ExpiresAt.IsZero() {
		out.ExpiresAt = timeStr(m.ExpiresAt)
	}
	if out.BodyBase64 == nil {
		out.BodyBase64 = []byte{}
	}
	if out.Attributes == nil {
		out.Attributes = map[string]string{}
	}
	if !m.PublishTime.IsZero() {
		out.PublishTime = timeStr(m.PublishTime)
	}
	if groupedNativeTypes[e.NativeType()] {
		out.GroupID = out.OrderingKey
	}
	if t, ok := e.Trace(); ok {
		out.Trace = traceOf(t)
	}
	out.Unwrapped = unwrapped(e)
	return out
}

// unwrapped describes the SNS notification an SQS message was unwrapped
// from, which the AWS adapter records in extensions.
func unwrapped(e core.Event) *unwrappedJSON {
	ext := e.Extensions()
	raw, ok := ext[awslambda.ExtensionSNSAttributes].(string)
	if !ok {
		return nil
	}
	u := &unwrappedJSON{Kind: "sns", Subject: str(e.Subject()), Message: string(e.Message.Body), Attributes: map[string]string{}}
	u.ID, _ = ext[awslambda.ExtensionSNSMessageID].(string)
	u.Topic, _ = ext[awslambda.ExtensionSNSTopic].(string)
	_ = json.Unmarshal([]byte(raw), &u.Attributes) // written by the adapter
	return u
}

func encodeChange(c *core.Change) changeJSON {
	return changeJSON{
		Op: string(c.Op), ID: str(c.ID), Sequence: str(c.Sequence), Document: str(c.Document),
		Key: orNull(c.Key), New: orNull(c.New), Old: orNull(c.Old), UpdateMask: c.UpdateMask, ByTTL: c.ByTTL,
	}
}

func encodeTimer(t *core.Timer) *timerJSON {
	out := &timerJSON{Name: t.Name, PastDue: t.PastDue, Attempt: count(t.Attempt), PayloadBase64: t.Payload}
	if !t.ScheduledTime.IsZero() {
		out.ScheduledTime = timeStr(t.ScheduledTime)
	}
	return out
}

func traceOf(t core.Trace) *traceJSON {
	if t.IsZero() {
		return nil
	}
	return &traceJSON{Format: string(t.Format), TraceID: t.TraceID, Raw: t.Raw}
}

// str is s, or nil (JSON null) for "".
func str(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// count is n, or nil for 0, which means unknown.
func count(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

func timeStr(t time.Time) *string { return str(t.UTC().Format(time.RFC3339Nano)) }

func orNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

// writeJSON writes v as indented JSON in which an array of scalars stays on
// one line, so that headers and query values read as lists. Numbers keep
// their literals, every digit.
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	dec := json.NewDecoder(&buf)
	dec.UseNumber()
	var out bytes.Buffer
	if err := formatValue(&out, dec, ""); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}

// formatValue writes the next value of dec at the given indentation.
func formatValue(out *bytes.Buffer, dec *json.Decoder, indent string) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		if !dec.More() {
			_, err := dec.Token()
			out.WriteString("{}")
			return err
		}
		out.WriteString("{\n")
		for first := true; dec.More(); first = false {
			if !first {
				out.WriteString(",\n")
			}
			key, err := dec.Token()
			if err != nil {
				return err
			}
			out.WriteString(indent + "  ")
			writeScalar(out, key)
			out.WriteString(": ")
			if err := formatValue(out, dec, indent+"  "); err != nil {
				return err
			}
		}
		_, err := dec.Token()
		out.WriteString("\n" + indent + "}")
		return err
	case json.Delim('['):
		var elems []json.RawMessage
		for dec.More() {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			elems = append(elems, raw)
		}
		if _, err := dec.Token(); err != nil {
			return err
		}
		if len(elems) == 0 {
			out.WriteString("[]")
			return nil
		}
		scalars := true
		for _, e := range elems {
			if c := bytes.TrimSpace(e)[0]; c == '{' || c == '[' {
				scalars = false
			}
		}
		if scalars {
			out.WriteByte('[')
			for i, e := range elems {
				if i > 0 {
					out.WriteString(", ")
				}
				out.Write(bytes.TrimSpace(e))
			}
			out.WriteByte(']')
			return nil
		}
		out.WriteString("[\n")
		for i, e := range elems {
			if i > 0 {
				out.WriteString(",\n")
			}
			out.WriteString(indent + "  ")
			if line, ok := flatObject(e); ok {
				out.WriteString(line)
				continue
			}
			d := json.NewDecoder(bytes.NewReader(e))
			d.UseNumber()
			if err := formatValue(out, d, indent+"  "); err != nil {
				return err
			}
		}
		out.WriteString("\n" + indent + "]")
		return nil
	}
	writeScalar(out, tok)
	return nil
}

// flatObject renders an array element that is a small object of scalars,
// such as a cookie, on one line.
func flatObject(raw json.RawMessage) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return "", false
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for first := true; dec.More(); first = false {
		key, err := dec.Token()
		if err != nil {
			return "", false
		}
		val, err := dec.Token()
		if _, delim := val.(json.Delim); err != nil || delim {
			return "", false
		}
		if !first {
			b.WriteString(", ")
		}
		writeScalar(&b, key)
		b.WriteString(": ")
		writeScalar(&b, val)
	}
	b.WriteByte('}')
	return b.String(), b.Len() <= 72
}

func writeScalar(out *bytes.Buffer, tok json.Token) {
	switch v := tok.(type) {
	case nil:
		out.WriteString("null")
	case json.Number:
		out.WriteString(v.String())
	case bool:
		fmt.Fprint(out, v)
	case string:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(v) // a string always encodes
		out.Write(bytes.TrimSuffix(b.Bytes(), []byte("\n")))
	}
}
