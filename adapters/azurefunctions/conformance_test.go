package azurefunctions_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/polyfn/polyfn/adapters/adaptertest"
	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/adapters/azurefunctions/azurefunctionstest"
	"github.com/polyfn/polyfn/core"
)

// TestConformance runs the cross-adapter suite through the custom handler
// served as the Functions host starts it, with the host's requests in each
// of the three modes an HTTP function can be configured in: default mode
// ({"Data","Metadata"} invocations, what polyfn build writes for an app
// with event functions), enableForwardingHttpRequest, and
// enableProxyingHttpRequest (what polyfn build writes for an HTTP-only app).
// Events always arrive in default mode.
func TestConformance(t *testing.T) {
	for _, mode := range []azureMode{modeDefault, modeForwarding, modeProxying} {
		t.Run(mode.String(), func(t *testing.T) {
			adaptertest.RunConformanceTests(t, func(t *testing.T) adaptertest.Harness { return azureHarness{mode} })
		})
	}
}

// azureMode is how the host hands HTTP requests to the custom handler.
type azureMode int

const (
	modeDefault azureMode = iota
	modeForwarding
	modeProxying
)

func (m azureMode) String() string {
	return [...]string{"azure", "azure-forwarding", "azure-proxying"}[m]
}

// The function app the harness plays.
const (
	appServiceHost = "conformance.azurewebsites.net"
	storageAccount = "conformance"
	// hostFunctionTimeout is host.json's functionTimeout as polyfn build writes it.
	hostFunctionTimeout = "00:05:00"
	// eventHubsNamespace and eventHub are the stream's Event Hubs
	// namespace and event hub.
	eventHubsNamespace = "conformance.servicebus.windows.net"
	eventHub           = "conformance-clicks"
	// cosmosCollection is the resource path of the Cosmos DB container, as a
	// document's _self starts.
	cosmosCollection = "dbs/Bx0tAA==/colls/Bx0tAJ3jRvk="
)

type azureHarness struct{ mode azureMode }

func (h azureHarness) Name() string { return h.mode.String() }

func (h azureHarness) Describe() string {
	how := map[azureMode]string{
		modeDefault: "HTTP requests as default-mode invocations (`Data.req`, the reply's `res` output decoded as the " +
			"host does), which polyfn build configures for an app with event functions",
		modeForwarding: "HTTP requests as `enableForwardingHttpRequest` rebuilds them (query values comma-joined, " +
			"body only with a Content-Length), with App Service's front-end headers",
		modeProxying: "HTTP requests as `enableProxyingHttpRequest` (YARP) passes them, which polyfn build " +
			"configures for an HTTP-only app",
	}[h.mode]
	return "`azurefunctions.New` served by `Handler.Serve` with the options of the host.json polyfn build " +
		"writes (route prefix `api`, functionTimeout 5 minutes), driven by `azurefunctionstest`'s stand-in for the " +
		"Functions host: " + how + ". Events arrive in default mode: objects as Event Grid `BlobCreated`/`BlobDeleted`/" +
		"`BlobTierChanged`/`AsyncOperationInitiated` events, messages as Service Bus messages (`dataType: binary`, one per invocation), changes as a Cosmos DB " +
		"batch, timers as `TimerInfo`, stream records as Event Hubs batches (`cardinality: many`, one invocation " +
		"per partition); a non-2xx reply fails the invocation, which the trigger retries (a stream batch's retry " +
		"policy reruns it from its failed record)."
}

func (h azureHarness) Can(c adaptertest.Capability) (bool, string) {
	def, fwd := h.mode == modeDefault, h.mode == modeForwarding
	switch c {
	case adaptertest.BinaryResponses, adaptertest.LargeBinaryBodies:
		if def {
			return false, "in default mode the host writes the http output's body as text and does not decode " +
				"base64, so the adapter answers 500 for a binary body; binary bodies need an HTTP-only app, which " +
				"polyfn build proxies"
		}
	case adaptertest.RepeatedRequestHeaders:
		if def {
			return true, "Data.req.Headers keeps every value of a header"
		}
	case adaptertest.RepeatedQueryValues:
		switch h.mode {
		case modeDefault:
			return true, "the adapter reads the query from Data.req.Url, which keeps it as sent (Query joins repeated values)"
		case modeForwarding:
			return true, "the host rebuilds the query with repeated values comma-joined; the adapter restores it " +
				"from App Service's X-Original-URL (without App Service's front end, as under func start, the " +
				"values stay joined)"
		}
	case adaptertest.MultipleCookies:
		if def {
			return false, "an http output binding has one value per header: the adapter keeps the first Set-Cookie " +
				"and logs the others"
		}
	case adaptertest.RepeatedResponseHeaders:
		if def {
			return false, `an http output binding has one value per header: the adapter joins repeated values with ", "`
		}
	case adaptertest.Cancellation:
		if def || fwd {
			return false, "the host sends a default-mode or forwarded invocation with HttpClient.SendAsync and no " +
				"cancellation token (DefaultHttpWorkerService): a client that goes away does not end it"
		}
		return true, "YARP cancels the proxied request when the client goes away"
	case adaptertest.Deadline, adaptertest.EventDeadline:
		return true, "the function's declared timeout from the invocation's start, or host.json's functionTimeout (read " +
			"at start-up; 5 minutes here) when it is earlier: the host sends no deadline"
	case adaptertest.PartialBatchFailure:
		return true, "polyfn build gives a Service Bus trigger one message per invocation (cardinality one), failed on " +
			"its own; a batch (cardinality many, written by hand) fails and is abandoned whole, since a custom handler " +
			"cannot settle its messages one by one (ServiceBusMessageActions reach in-process .NET functions and, " +
			"through the host's gRPC settlement service, the isolated .NET and Python workers, not an HTTP custom handler)"
	case adaptertest.Streams:
		return true, "an Event Hubs trigger (cardinality many) delivers one partition's batch per invocation; polyfn " +
			"build writes the trigger and a retry policy"
	case adaptertest.EventKind(core.KindRecord):
		return true, "a batch stops at its first failure and fails the invocation: the function's retry policy reruns " +
			"it before the host checkpoints, and the adapter starts the rerun at the failed record (after a restart, " +
			"the host replays the partition from its checkpoint)"
	case adaptertest.EventField(core.KindRecord, adaptertest.FieldSource):
		return false, "the event's source is the event hub's address, sb://<namespace>/<hub>; data.stream is the hub's name"
	case adaptertest.PartialChangeBatchFailure:
		return false, "a Cosmos DB trigger receives a batch of changes in one invocation, which any failure fails " +
			"and the retry policy redelivers whole"
	case adaptertest.OrderedChangeBatches:
		return false, "the change batch is redelivered whole (ChangeTrigger.Ordered stops at the first failure, " +
			"but the retry still brings the whole batch)"
	case adaptertest.AcknowledgePermanentFailures:
		return false, "a custom handler cannot dead-letter an event: a 2xx reply deletes it, so every failure is " +
			"answered non-2xx and retried until the trigger's poison or dead-letter store takes it"
	case adaptertest.EventField(core.KindMessage, adaptertest.FieldSource):
		return false, "a Service Bus invocation names no source the handler can see: the adapter uses " +
			"polyfn://azure/functions/<function>"
	case adaptertest.EventField(core.KindTimer, adaptertest.FieldSource):
		return false, "a timer invocation names no source: the adapter uses polyfn://azure/functions/<function>"
	case adaptertest.EventField(core.KindTimer, adaptertest.FieldID):
		return false, "a timer invocation carries no id: the adapter derives <function>@<scheduled time>, the same " +
			"on every retry"
	case adaptertest.EventField(core.KindChange, adaptertest.FieldID):
		return false, "the change feed carries no change id: the adapter derives <document id>@<_lsn>, the same on " +
			"every redelivery"
	case adaptertest.EventField(core.KindChange, "data.op"):
		return false, "the change feed does not say whether a document was inserted or replaced: every change is op write"
	case adaptertest.EventField(core.KindChange, adaptertest.FieldRemoval):
		return false, "the change feed (latest version mode) reports no deletions"
	case adaptertest.EventField(core.KindChange, "data.old"):
		return false, "the change feed carries no previous image"
	case adaptertest.EventField(core.KindChange, "data.new, exactly"):
		return false, "Cosmos DB adds its system properties (_rid, _self, _etag, _attachments, _ts, _lsn) to every " +
			"document in the change feed"
	case adaptertest.EventKind(core.KindObjectTiered):
		return true, "Event Grid's Microsoft.Storage.BlobTierChanged: data.accessTier is the storage class, previousTier the previous one"
	case adaptertest.EventKind(core.KindObjectRestored):
		return true, "a rehydration from Archive: Microsoft.Storage.AsyncOperationInitiated when it starts, and the " +
			"BlobTierChanged out of Archive when it completes, to a trigger that asks for restores"
	case adaptertest.EventKind(core.KindObjectUpdated):
		return false, "Azure Storage sends no event for a change of a blob's metadata, tags or access: Event Grid's " +
			"Blob Storage events are created, deleted, tier changed, async operation initiated, renamed and the " +
			"directory and policy events"
	case adaptertest.EventKind(core.KindObjectReplication):
		return false, "Azure Storage sends no Event Grid event for object replication"
	case adaptertest.StreamingResponses:
		switch h.mode {
		case modeDefault:
			return false, "in default mode the response is the http output of the handler's JSON reply, which the host " +
				"reads whole"
		case modeForwarding:
			return false, "the host sends a forwarded request with HttpClient.SendAsync, which reads the handler's " +
				"whole response before the host answers (DefaultHttpWorkerService)"
		}
		return true, "YARP passes the handler's response on as it is written (\"supports response streaming\", the " +
			"custom handler documentation); polyfn build proxies an HTTP-only app"
	}
	return true, ""
}

func (azureHarness) Source(fn string) string {
	return map[string]string{
		"objects": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/conformance/providers/" +
			"Microsoft.Storage/storageAccounts/" + storageAccount,
		"messages": "polyfn://azure/functions/messages",
		"changes":  cosmosCollection,
		"timer":    "polyfn://azure/functions/timer",
		"stream":   eventHub,
	}[fn]
}

func (h azureHarness) Start(t *testing.T, app *core.App, env map[string]string) adaptertest.Client {
	dir := t.TempDir()
	hostJSON, _ := json.Marshal(map[string]any{
		"version": "2.0",
		"customHandler": map[string]any{
			"description":                 map[string]any{"defaultExecutablePath": "handler", "workingDirectory": "", "arguments": []string{}},
			"enableForwardingHttpRequest": h.mode == modeForwarding,
			"enableProxyingHttpRequest":   h.mode == modeProxying,
		},
		"extensions":      map[string]any{"http": map[string]string{"routePrefix": "api"}},
		"functionTimeout": hostFunctionTimeout,
	})
	if err := os.WriteFile(filepath.Join(dir, "host.json"), hostJSON, 0o644); err != nil {
		t.Fatal(err)
	}
	opts, err := azurefunctions.HostOptions(dir)
	if err != nil {
		t.Fatal(err)
	}
	opts.Logger = slog.New(slog.DiscardHandler)
	opts.Drain = 10 * time.Second
	resolved, err := core.ResolveEnv(app, func(k string) (string, bool) { v, ok := env[k]; return v, ok }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Init(t.Context(), resolved); err != nil {
		t.Fatal(err)
	}
	handler, err := azurefunctions.New([]*core.App{app}, opts)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- handler.Serve(ctx, ln) }()
	t.Cleanup(func() {
		stop()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
		_ = app.Close(context.Background())
	})
	var events []string
	for _, fn := range app.EventFuncs() {
		events = append(events, fn.Name)
	}
	names, err := azurefunctions.FunctionNames(app.Routes(), events)
	if err != nil {
		t.Fatal(err)
	}
	routes := http.NewServeMux()
	functions := map[string]string{}
	for i, r := range app.Routes() {
		routes.Handle(r.Pattern, http.NotFoundHandler())
		functions[r.Pattern] = names[i]
	}
	return &azureClient{
		mode: h.mode, host: azurefunctionstest.Attach("http://"+ln.Addr().String(), "api"),
		routes: routes, functions: functions,
	}
}

type azureClient struct {
	mode      azureMode
	host      *azurefunctionstest.Host
	routes    *http.ServeMux    // the function.json routes, as the host matches them
	functions map[string]string // the Azure function of each route pattern
}

// ---------------------------------------------------------------- HTTP

// Do sends req as a client of the function app: through App Service's
// front end, then the host in the harness's mode.
func (c *azureClient) Do(ctx context.Context, req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			return nil, err
		}
	}
	r := req.Clone(ctx)
	r.Host = appServiceHost
	r.URL = &url.URL{Scheme: "https", Host: appServiceHost, Path: req.URL.Path, RawPath: req.URL.RawPath, RawQuery: req.URL.RawQuery}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	if len(body) == 0 {
		r.Body = http.NoBody
	}
	// App Service's front end, before the host (captured).
	orig := "/api" + req.URL.EscapedPath()
	if req.URL.RawQuery != "" {
		orig += "?" + req.URL.RawQuery
	}
	r.Header.Set("X-Original-Url", orig)
	r.Header.Set("X-Forwarded-For", "203.0.113.7:51234")
	r.Header.Set("X-Forwarded-Proto", "https")
	r.Header.Set("X-Arr-Log-Id", "7a3b9c1e-0000-4000-8000-000000000001")
	r.Header.Set("Disguised-Host", appServiceHost)
	r.Header.Set("Was-Default-Hostname", appServiceHost)

	switch c.mode {
	case modeProxying:
		return c.host.Proxy(ctx, r)
	case modeForwarding:
		// The host does not cancel the invocation when its client goes.
		return detachedSend(ctx, func(ctx context.Context) (*http.Response, error) {
			resp, err := c.host.Forward(ctx, r)
			if err != nil {
				return nil, err
			}
			// HttpClient.SendAsync reads the whole response before the host
			// answers: nothing of it reaches the client sooner.
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				return nil, err
			}
			return hostResponse(resp.StatusCode, resp.Header, body), nil
		})
	}
	_, pattern := c.routes.Handler(req)
	fn, ok := c.functions[pattern]
	if !ok {
		return hostResponse(http.StatusNotFound, nil, nil), nil
	}
	inv := azurefunctionstest.HTTPTrigger(r, body)
	return detachedSend(ctx, func(ctx context.Context) (*http.Response, error) {
		res, err := c.host.Invoke(ctx, fn, inv)
		if err != nil {
			return nil, err
		}
		if res.Status/100 != 2 { // the invocation failed: the host answers 500
			return hostResponse(http.StatusInternalServerError, nil, nil), nil
		}
		out, err := res.HTTPOutput(azurefunctions.BindingResponse)
		if err != nil {
			return nil, err
		}
		return hostResponse(out.StatusCode, out.Header, out.Body), nil
	})
}

// detachedSend runs send in a context that the caller's cancellation does not
// end, and returns when it is done or the caller goes away.
func detachedSend(ctx context.Context, send func(context.Context) (*http.Response, error)) (*http.Response, error) {
	type result struct {
		resp *http.Response
		err  error
	}
	done := make(chan result, 1)
	go func() {
		resp, err := send(context.WithoutCancel(ctx))
		done <- result{resp, err}
	}()
	select {
	case r := <-done:
		return r.resp, r.err
	case <-ctx.Done():
		go func() { // the invocation runs on; free its response
			if r := <-done; r.resp != nil {
				r.resp.Body.Close()
			}
		}()
		return nil, ctx.Err()
	}
}

func hostResponse(status int, h http.Header, body []byte) *http.Response {
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)),
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
	}
}

// -------------------------------------------------------------- events

// Deliver sends events as their triggers do: one invocation per Event Grid
// event, Service Bus message and timer firing; one for a Cosmos DB batch.
// A non-2xx reply fails the invocation, whose events are then retried.
func (c *azureClient) Deliver(ctx context.Context, fn string, evs []core.Event) (adaptertest.Outcome, error) {
	var invs []azurefunctionstest.Invocation
	var groups [][]core.Event
	switch fn {
	case "objects", "messages", "timer":
		for _, e := range evs {
			inv, err := triggerInvocation(e)
			if err != nil {
				return adaptertest.Outcome{}, err
			}
			invs, groups = append(invs, inv), append(groups, []core.Event{e})
		}
	case "changes":
		var docs []json.RawMessage
		for i, e := range evs {
			doc, err := cosmosDocument(e, i)
			if err != nil {
				return adaptertest.Outcome{}, err
			}
			docs = append(docs, doc)
		}
		inv := azurefunctionstest.CosmosDBTrigger(docs...)
		inv.Metadata = map[string]json.RawMessage{"sys": azurefunctionstest.Sys(fn, time.Now())}
		invs, groups = []azurefunctionstest.Invocation{inv}, [][]core.Event{evs}
	case "stream":
		return c.deliverRecords(ctx, evs)
	default:
		return adaptertest.Outcome{}, fmt.Errorf("no trigger for %s", fn)
	}
	var out adaptertest.Outcome
	for i, inv := range invs {
		res, err := c.host.Invoke(ctx, fn, inv)
		if err != nil {
			return out, err
		}
		out.Reply = append(out.Reply, res.Body...)
		if res.Status/100 != 2 {
			for _, e := range groups[i] {
				out.Redelivered = append(out.Redelivered, e.ID())
			}
		}
	}
	return out, nil
}

// triggerInvocation encodes one event as its trigger's invocation.
func triggerInvocation(e core.Event) (azurefunctionstest.Invocation, error) {
	var inv azurefunctionstest.Invocation
	now := time.Now()
	fn := "objects"
	switch {
	case e.Object != nil:
		ev, err := gridEvent(e)
		if err != nil {
			return inv, err
		}
		inv = azurefunctionstest.EventGridTrigger(ev)
	case e.Message != nil:
		m := e.Message
		props := map[string]any{}
		for k, v := range m.Attributes {
			props[k] = v
		}
		if tp, ok := e.Extensions()[core.TraceparentExtension].(string); ok {
			props["Diagnostic-Id"] = tp // as the Service Bus SDKs set it
		}
		inv = azurefunctionstest.ServiceBusTrigger(azurefunctionstest.ServiceBusMessage{
			MessageID: m.ID, Body: m.Body, DeliveryCount: 1, EnqueuedTime: e.Time(), SequenceNumber: 42,
			ContentType: m.ContentType, SessionID: m.OrderingKey, Properties: props, Binary: true,
		})
		fn = "messages"
	case e.Timer != nil:
		at := e.Timer.ScheduledTime
		inv = azurefunctionstest.TimerTrigger(&azurefunctionstest.ScheduleStatus{
			Last: at.Add(-24 * time.Hour), Next: at, LastUpdated: at.Add(-24 * time.Hour),
		}, e.Timer.PastDue, 0)
		fn, now = "timer", e.Time()
	default:
		return inv, errors.New("no trigger for " + string(e.Kind()))
	}
	if inv.Metadata == nil {
		inv.Metadata = map[string]json.RawMessage{}
	}
	inv.Metadata["sys"] = azurefunctionstest.Sys(fn, now)
	return inv, nil
}

// gridEvent is the Event Grid schema event of a blob's creation, deletion,
// tier change or rehydration in the storage account.
func gridEvent(e core.Event) (json.RawMessage, error) {
	o := e.Object
	blobURL := (&url.URL{Scheme: "https", Host: storageAccount + ".blob.core.windows.net", Path: "/" + o.Bucket + "/" + o.Key}).String()
	typ, data := "Microsoft.Storage.BlobCreated", map[string]any{
		"api": "PutBlob", "clientRequestId": "6d79dbfb-0e37-4fc4-981f-442c9ca65760", "requestId": "831e1650-001e-001b-66ab-eeb76e000000",
		"contentType": o.ContentType, "contentLength": o.Size, "blobType": "BlockBlob", "url": blobURL,
		"sequencer": "00000000000004420000000000028963", "storageDiagnostics": map[string]string{"batchId": "b68529f3-68cd-4744-baa4-3c0498ec19f0"},
	}
	if o.ETag != "" {
		data["eTag"] = o.ETag
	}
	switch e.Kind() {
	case core.KindObjectTiered, core.KindObjectRestored:
		// As the Blob Storage events documentation shows them: Set Blob
		// Tier's change, and the change out of Archive that ends a
		// rehydration (a restore's completion).
		typ, data["api"] = "Microsoft.Storage.BlobTierChanged", "SetBlobTier"
		data["accessTier"], data["previousTier"] = o.StorageClass, "Hot"
		if r := o.Restore; r != nil {
			data["accessTier"], data["previousTier"] = "Hot", "Archive"
			if r.Phase == core.RestoreStarted {
				typ = "Microsoft.Storage.AsyncOperationInitiated"
				delete(data, "accessTier")
				delete(data, "previousTier")
			}
		}
	}
	if e.Kind() == core.KindObjectDeleted {
		typ = "Microsoft.Storage.BlobDeleted"
		data = map[string]any{
			"api": "DeleteBlob", "requestId": "4c2359fe-001e-00ba-0e04-58fdc5000000", "contentType": "application/octet-stream",
			"blobType": "BlockBlob", "url": blobURL, "sequencer": "0000000000000281000000000002F5CA",
			"storageDiagnostics": map[string]string{"batchId": "b68529f3-68cd-4744-baa4-3c0498ec19f0"},
		}
	}
	return json.Marshal(map[string]any{
		"topic": e.Source(), "subject": "/blobServices/default/containers/" + o.Bucket + "/blobs/" + o.Key,
		"eventType": typ, "eventTime": e.Time().UTC().Format(time.RFC3339Nano), "id": e.ID(),
		"data": data, "dataVersion": "", "metadataVersion": "1",
	})
}

// cosmosDocument is the change's new document as the change feed delivers
// it: with Cosmos DB's system properties.
func cosmosDocument(e core.Event, i int) (json.RawMessage, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(e.Change.New, &doc); err != nil {
		return nil, fmt.Errorf("change %s: %w", e.ID(), err)
	}
	rid := fmt.Sprintf("Bx0tAJ3jRvkBAAAAAAAAA%d==", i)
	for k, v := range map[string]any{
		"_rid": rid, "_self": cosmosCollection + "/docs/" + rid + "/", "_etag": fmt.Sprintf(`"0000d2%02d-0000-0700-0000-6740e0a00000"`, i),
		"_attachments": "attachments/", "_ts": e.Time().Unix(), "_lsn": 100 + i,
	} {
		doc[k], _ = json.Marshal(v)
	}
	return json.Marshal(doc)
}

// deliverRecords delivers stream records as the Event Hubs trigger does:
// one invocation per partition's batch, in the partition's order. A failed
// invocation is rerun by the function's retry policy, which the adapter
// starts at the failed record: the reply's problem names the records the
// rerun hands the function (TestEventHubsBatchStopsAtTheFailure runs it).
func (c *azureClient) deliverRecords(ctx context.Context, evs []core.Event) (adaptertest.Outcome, error) {
	var order []string
	byPartition := map[string][]core.Event{}
	for _, e := range evs {
		if e.Record == nil {
			return adaptertest.Outcome{}, errors.New("a stream delivers records, not " + string(e.Kind()))
		}
		p := e.Record.Partition
		if _, ok := byPartition[p]; !ok {
			order = append(order, p)
		}
		byPartition[p] = append(byPartition[p], e)
	}
	var out adaptertest.Outcome
	var retry []string
	for _, p := range order {
		var batch []azurefunctionstest.EventHubsEvent
		for _, e := range byPartition[p] {
			r := e.Record
			seq, err := strconv.ParseInt(r.Sequence, 10, 64)
			if err != nil {
				return out, fmt.Errorf("record %s: sequence %q", e.ID(), r.Sequence)
			}
			props := map[string]any{}
			for k, v := range r.Headers {
				props[k] = v
			}
			batch = append(batch, azurefunctionstest.EventHubsEvent{Body: r.Data, SequenceNumber: seq, Offset: seq * 4096,
				EnqueuedTime: r.ArrivalTime, PartitionKey: r.Key, MessageID: e.ID(), Properties: props})
		}
		inv := azurefunctionstest.EventHubsTrigger(azurefunctionstest.EventHubsPartition{
			Namespace: eventHubsNamespace, EventHub: eventHub, PartitionID: p}, batch...)
		inv.Metadata["sys"] = azurefunctionstest.Sys("stream", time.Now())
		res, err := c.host.Invoke(ctx, "stream", inv)
		if err != nil {
			return out, err
		}
		out.Reply = append(out.Reply, res.Body...)
		if res.Status/100 == 2 {
			continue
		}
		var failed struct {
			Retry *[]string `json:"retry"`
		}
		if err := json.Unmarshal(res.Body, &failed); err != nil || failed.Retry == nil {
			// A batch the adapter refused: the retry policy reruns it whole.
			for _, e := range byPartition[p] {
				retry = append(retry, e.ID())
			}
			continue
		}
		retry = append(retry, *failed.Retry...)
	}
	// Redelivered is in batch order.
	for _, e := range evs {
		if slices.Contains(retry, e.ID()) {
			out.Redelivered = append(out.Redelivered, e.ID())
		}
	}
	return out, nil
}
