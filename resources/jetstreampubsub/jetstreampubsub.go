// Package jetstreampubsub is a gocloud.dev pub/sub driver for NATS
// JetStream: a topic is a subject of a stream, a subscription a durable pull
// consumer of that stream with explicit acknowledgement. Unlike
// gocloud.dev/pubsub/natspubsub (core NATS, at most once, nothing kept), a
// message whose Send returned nil is stored by the stream (the server
// acknowledged it), and a received message is delivered again until it is
// acked: delivery is at least once.
//
// # URLs
//
// Import the package for its side effects to open topics and subscriptions
// by URL with pubsub.OpenTopic and pubsub.OpenSubscription:
//
//	jetstream://STREAM/SUBJECT?server=nats://host:4222
//	jetstream://STREAM/CONSUMER?server=nats://host:4222&subject=SUBJECT
//
// A topic publishes to SUBJECT and requires the stream STREAM to store it
// (a publish to a subject that no stream stores, or that another stream
// stores, fails with gcerrors.NotFound). A subscription receives from the
// durable consumer CONSUMER of STREAM; subject is the consumer's filter
// subject (default: every subject of the stream) and matters only when the
// consumer is created (with create=true and no subject, the stream must
// exist, and the consumer takes all of its subjects).
//
// server defaults to the environment variable NATS_SERVER_URL, as for
// natspubsub's nats:// URLs. One connection is opened per server URL and
// shared by every topic and subscription opened through the default URL
// mux; it is kept for the life of the process.
//
// Other parameters:
//
//   - create=true creates the stream (file storage, limits retention, the
//     topic's subject or the subscription's subject) and the durable consumer
//     if they are missing; an existing stream or consumer is used as it is and
//     never changed. Without it, the stream and consumer must exist: the
//     open succeeds, and the first Send or Receive fails with NotFound. A
//     local runtime passes create=true so that a dev session needs no set-up;
//     against a production cluster, leave it out and declare streams and
//     consumers with the cluster's own tooling (replicas, limits, placement).
//   - ackwait=30s is the consumer's acknowledgement deadline on creation: a
//     message neither acked nor nacked by then is delivered again.
//   - maxdeliver=N bounds the deliveries of a message on creation (default
//     unbounded).
//
// # Semantics
//
// Send returns once the stream has stored the message (JetStream's publish
// acknowledgement); a single-replica file stream has written it to its file
// by then, so it survives the server being killed. Metadata travel as NATS
// headers, percent-encoded so that any key and value survive (a key
// beginning with Nats-, which NATS reserves, is encoded too; a received
// message's Nats-* headers are NATS's own and are not metadata). To set
// JetStream's own headers, such as Nats-Msg-Id for deduplication, use
// BeforeSend's *nats.Msg.
//
// Message.Ack waits for the server to confirm the acknowledgement
// (JetStream's double ack). Message.Nack asks for immediate redelivery
// (JetStream's nak). The server writes a consumer's acknowledgement state to
// disk at most every 100 ms, so a server killed just after an ack may deliver
// that message once more: consumers must be idempotent, as at-least-once
// delivery requires anyway.
//
// # As
//
//   - Topic.As and Subscription.As: *jetstream.JetStream.
//   - Message.As on a received message: *jetstream.Msg.
//   - Message.BeforeSend: *nats.Msg (the message about to be published).
//   - Message.AfterSend: **jetstream.PubAck.
//   - ErrorAs: jetstream.JetStreamError, *jetstream.APIError, or any target
//     errors.As accepts for the error's chain.
package jetstreampubsub

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"gocloud.dev/gcerrors"
	"gocloud.dev/pubsub"
	"gocloud.dev/pubsub/batcher"
	"gocloud.dev/pubsub/driver"
)

// Scheme is the URL scheme the package registers with pubsub.DefaultURLMux.
const Scheme = "jetstream"

func init() {
	o := new(URLOpener)
	pubsub.DefaultURLMux().RegisterTopic(Scheme, o)
	pubsub.DefaultURLMux().RegisterSubscription(Scheme, o)
}

// fetchWait is how long ReceiveBatch waits for a first message; the driver
// contract asks for about a second at most.
const fetchWait = 500 * time.Millisecond

// publishTimeout bounds the wait for a publish or ack acknowledgement when
// the caller's context has no deadline (gocloud's batchers call without one).
const publishTimeout = 30 * time.Second

// Batch sizes: JetStream has no batch publish or batch ack, so these bound
// how many publishes and acks one call pipelines.
var (
	sendBatcherOpts = batcher.Options{MaxBatchSize: 256, MaxHandlers: 4}
	recvBatcherOpts = batcher.Options{MaxBatchSize: 256, MaxHandlers: 2}
	ackBatcherOpts  = batcher.Options{MaxBatchSize: 256, MaxHandlers: 4}
)

// TopicOptions configures OpenTopic.
type TopicOptions struct {
	// Create creates the stream, with file storage and the topic's subject,
	// if it does not exist.
	Create bool
}

// SubscriptionOptions configures OpenSubscription.
type SubscriptionOptions struct {
	// Subject is the consumer's filter subject when it is created; empty
	// means every subject of the stream.
	Subject string
	// Create creates the stream (file storage, Subject) and the durable
	// consumer if they do not exist.
	Create bool
	// AckWait is the created consumer's acknowledgement deadline (30 s by
	// default).
	AckWait time.Duration
	// MaxDeliver bounds the deliveries of a message on a created consumer;
	// 0 means unbounded.
	MaxDeliver int
}

// OpenTopic returns a topic that publishes to subject, stored by stream.
// The caller owns js's connection.
func OpenTopic(ctx context.Context, js jetstream.JetStream, stream, subject string, opts *TopicOptions) (*pubsub.Topic, error) {
	dt, err := openTopic(ctx, js, stream, subject, opts)
	if err != nil {
		return nil, err
	}
	return pubsub.NewTopic(dt, &sendBatcherOpts), nil
}

// OpenSubscription returns a subscription that receives from the durable
// pull consumer of stream. The caller owns js's connection.
func OpenSubscription(ctx context.Context, js jetstream.JetStream, stream, consumer string, opts *SubscriptionOptions) (*pubsub.Subscription, error) {
	ds, err := openSubscription(ctx, js, stream, consumer, opts)
	if err != nil {
		return nil, err
	}
	return pubsub.NewSubscription(ds, &recvBatcherOpts, &ackBatcherOpts), nil
}

func openTopic(ctx context.Context, js jetstream.JetStream, stream, subject string, opts *TopicOptions) (*topic, error) {
	if js == nil {
		return nil, errors.New("jetstreampubsub: nil JetStream")
	}
	if err := validName("stream", stream); err != nil {
		return nil, err
	}
	if err := validSubject(subject, false); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &TopicOptions{}
	}
	if opts.Create {
		if err := ensureStream(ctx, js, stream, subject); err != nil {
			return nil, err
		}
	}
	return &topic{js: js, stream: stream, subject: subject}, nil
}

func openSubscription(ctx context.Context, js jetstream.JetStream, stream, consumer string, opts *SubscriptionOptions) (*subscription, error) {
	if js == nil {
		return nil, errors.New("jetstreampubsub: nil JetStream")
	}
	if err := validName("stream", stream); err != nil {
		return nil, err
	}
	if err := validName("consumer", consumer); err != nil {
		return nil, err
	}
	if opts == nil {
		opts = &SubscriptionOptions{}
	}
	if opts.Subject != "" {
		if err := validSubject(opts.Subject, true); err != nil {
			return nil, err
		}
	}
	if opts.AckWait < 0 || opts.MaxDeliver < 0 {
		return nil, errors.New("jetstreampubsub: negative ack wait or max deliver")
	}
	s := &subscription{js: js, stream: stream, name: consumer}
	if opts.Create {
		if opts.Subject != "" {
			if err := ensureStream(ctx, js, stream, opts.Subject); err != nil {
				return nil, err
			}
		} else if _, err := js.Stream(ctx, stream); err != nil {
			// Without a subject, the consumer takes every subject of a
			// stream that must exist.
			return nil, fmt.Errorf("jetstreampubsub: consumer %q: stream %q (give a subject to create it): %w", consumer, stream, err)
		}
		cfg := jetstream.ConsumerConfig{
			Durable:       consumer,
			AckPolicy:     jetstream.AckExplicitPolicy,
			DeliverPolicy: jetstream.DeliverAllPolicy,
			FilterSubject: opts.Subject,
			AckWait:       opts.AckWait,
			MaxDeliver:    opts.MaxDeliver,
		}
		if cfg.MaxDeliver == 0 {
			cfg.MaxDeliver = -1
		}
		c, err := js.Consumer(ctx, stream, consumer)
		if errors.Is(err, jetstream.ErrConsumerNotFound) {
			c, err = js.CreateConsumer(ctx, stream, cfg)
			if errors.Is(err, jetstream.ErrConsumerExists) { // created meanwhile by another process
				c, err = js.Consumer(ctx, stream, consumer)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("jetstreampubsub: consumer %q of stream %q: %w", consumer, stream, err)
		}
		s.consumer = c
	}
	return s, nil
}

// ensureStream creates stream with file storage, storing subject, unless it
// exists; an existing stream is not changed.
func ensureStream(ctx context.Context, js jetstream.JetStream, stream, subject string) error {
	_, err := js.Stream(ctx, stream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		_, err = js.CreateStream(ctx, jetstream.StreamConfig{
			Name:      stream,
			Subjects:  []string{subject},
			Storage:   jetstream.FileStorage,
			Retention: jetstream.LimitsPolicy,
		})
		if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) { // created meanwhile
			err = nil
		}
	}
	if err != nil {
		return fmt.Errorf("jetstreampubsub: stream %q: %w", stream, err)
	}
	return nil
}

func validName(what, name string) error {
	if name == "" || strings.ContainsAny(name, ".*> \t\r\n/\\") {
		return fmt.Errorf("jetstreampubsub: invalid %s name %q (non-empty, without '.', '*', '>', '/', '\\' or spaces)", what, name)
	}
	return nil
}

func validSubject(subject string, wildcards bool) error {
	if subject == "" || strings.ContainsAny(subject, " \t\r\n") || strings.HasPrefix(subject, ".") ||
		strings.HasSuffix(subject, ".") || strings.Contains(subject, "..") {
		return fmt.Errorf("jetstreampubsub: invalid subject %q", subject)
	}
	if !wildcards && strings.ContainsAny(subject, "*>") {
		return fmt.Errorf("jetstreampubsub: a topic publishes to one subject, without wildcards: %q", subject)
	}
	return nil
}

// withDeadline gives ctx a deadline of publishTimeout if it has none: the
// NATS client's waits require one, and gocloud's batchers call the driver
// without.
func withDeadline(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return ctx, func() {}
	}
	return context.WithTimeout(ctx, publishTimeout)
}

// topic implements driver.Topic.
type topic struct {
	js      jetstream.JetStream
	stream  string
	subject string
}

var _ driver.Topic = (*topic)(nil)

// SendBatch publishes every message asynchronously and returns once the
// stream has acknowledged them all, an error occurs, or ctx is done.
func (t *topic) SendBatch(ctx context.Context, ms []*driver.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	futures := make([]jetstream.PubAckFuture, len(ms))
	for i, m := range ms {
		nm := &nats.Msg{Subject: t.subject, Data: m.Body, Header: encodeMetadata(m.Metadata)}
		if m.BeforeSend != nil {
			asFunc := func(i any) bool {
				if p, ok := i.(**nats.Msg); ok {
					*p = nm
					return true
				}
				return false
			}
			if err := m.BeforeSend(asFunc); err != nil {
				return err
			}
		}
		f, err := t.js.PublishMsgAsync(nm, jetstream.WithExpectStream(t.stream))
		if err != nil {
			return t.publishErr(err)
		}
		futures[i] = f
	}
	for i, f := range futures {
		var ack *jetstream.PubAck
		select {
		case ack = <-f.Ok():
		case err := <-f.Err():
			return t.publishErr(err)
		case <-ctx.Done():
			return ctx.Err()
		}
		m := ms[i]
		m.LoggableID = strconv.FormatUint(ack.Sequence, 10)
		if m.AfterSend != nil {
			asFunc := func(i any) bool {
				if p, ok := i.(**jetstream.PubAck); ok {
					*p = ack
					return true
				}
				return false
			}
			if err := m.AfterSend(asFunc); err != nil {
				return err
			}
		}
	}
	return nil
}

// publishErr names the subject and stream, which a NotFound is about: no
// stream stores the subject, or another stream than the topic's does.
func (t *topic) publishErr(err error) error {
	return fmt.Errorf("jetstreampubsub: publish to %s, stored by stream %s: %w", t.subject, t.stream, err)
}

func (t *topic) IsRetryable(err error) bool { return isRetryable(err) }

func (t *topic) As(i any) bool {
	if p, ok := i.(*jetstream.JetStream); ok {
		*p = t.js
		return true
	}
	return false
}

func (t *topic) ErrorAs(err error, i any) bool { return errorAs(err, i) }

func (t *topic) ErrorCode(err error) gcerrors.ErrorCode { return errorCode(err) }

// Close does nothing: the connection belongs to the opener or the caller.
func (t *topic) Close() error { return nil }

// subscription implements driver.Subscription.
type subscription struct {
	js     jetstream.JetStream
	stream string
	name   string

	mu       sync.Mutex
	consumer jetstream.Consumer // nil until found
}

var _ driver.Subscription = (*subscription)(nil)

// lookup returns the consumer, finding it on the server the first time.
func (s *subscription) lookup(ctx context.Context) (jetstream.Consumer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.consumer != nil {
		return s.consumer, nil
	}
	c, err := s.js.Consumer(ctx, s.stream, s.name)
	if err != nil {
		return nil, err
	}
	s.consumer = c
	return c, nil
}

func (s *subscription) forget() {
	s.mu.Lock()
	s.consumer = nil
	s.mu.Unlock()
}

// ReceiveBatch returns up to maxMessages: those the consumer has ready now,
// or else the first to arrive within fetchWait. A pull request for a whole
// batch would hold the messages until the batch is full or the wait ends;
// two requests return each message as soon as it is there.
func (s *subscription) ReceiveBatch(ctx context.Context, maxMessages int) ([]*driver.Message, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := s.lookup(ctx)
	if err != nil {
		return nil, err
	}
	batch, err := c.FetchNoWait(maxMessages)
	if err != nil {
		return nil, s.fetchErr(ctx, err)
	}
	dms, err := s.collect(ctx, batch)
	if err != nil || len(dms) > 0 {
		return dms, err
	}
	wctx, cancel := context.WithTimeout(ctx, fetchWait)
	defer cancel()
	batch, err = c.Fetch(1, jetstream.FetchContext(wctx))
	if err != nil {
		return nil, s.fetchErr(ctx, err)
	}
	return s.collect(ctx, batch)
}

// collect reads a fetched batch. Messages already received when an error
// ends it are not returned: unacked, the server delivers them again after
// the ack wait.
func (s *subscription) collect(ctx context.Context, batch jetstream.MessageBatch) ([]*driver.Message, error) {
	var dms []*driver.Message
	for {
		select {
		case m, ok := <-batch.Messages():
			if !ok {
				if err := batch.Error(); err != nil {
					if err = s.fetchErr(ctx, err); err != nil {
						return nil, err
					}
				}
				return dms, nil
			}
			dm, err := toDriverMessage(m)
			if err != nil {
				_ = m.Term() // not a JetStream message: never deliverable
				continue
			}
			dms = append(dms, dm)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// fetchErr filters a fetch error: the end of the short wait is no error;
// a deleted consumer is looked up again next time.
func (s *subscription) fetchErr(ctx context.Context, err error) error {
	if ctx.Err() == nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)) {
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if errors.Is(err, jetstream.ErrConsumerDeleted) || errors.Is(err, jetstream.ErrConsumerNotFound) {
		s.forget()
	}
	return err
}

func toDriverMessage(m jetstream.Msg) (*driver.Message, error) {
	meta, err := m.Metadata()
	if err != nil {
		return nil, err
	}
	return &driver.Message{
		LoggableID: strconv.FormatUint(meta.Sequence.Stream, 10),
		Body:       m.Data(),
		Metadata:   decodeMetadata(m.Headers()),
		AckID:      m,
		AsFunc: func(i any) bool {
			if p, ok := i.(*jetstream.Msg); ok {
				*p = m
				return true
			}
			return false
		},
	}, nil
}

// SendAcks acknowledges every message and waits for the server to confirm
// each acknowledgement; a message acked before is no error.
func (s *subscription) SendAcks(ctx context.Context, ids []driver.AckID) error {
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	return eachAck(ids, func(m jetstream.Msg) error { return m.DoubleAck(ctx) })
}

func (s *subscription) CanNack() bool { return true }

// SendNacks asks the server to redeliver every message now, and returns once
// the naks have reached the server.
func (s *subscription) SendNacks(ctx context.Context, ids []driver.AckID) error {
	if err := eachAck(ids, func(m jetstream.Msg) error { return m.Nak() }); err != nil {
		return err
	}
	ctx, cancel := withDeadline(ctx)
	defer cancel()
	return s.js.Conn().FlushWithContext(ctx)
}

// eachAck runs ack on every message concurrently and returns the first error
// other than a repeated acknowledgement.
func eachAck(ids []driver.AckID, ack func(jetstream.Msg) error) error {
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		m, ok := id.(jetstream.Msg)
		if !ok {
			return fmt.Errorf("jetstreampubsub: ack id of type %T, want jetstream.Msg", id)
		}
		wg.Go(func() {
			if err := ack(m); err != nil && !errors.Is(err, jetstream.ErrMsgAlreadyAckd) {
				errs[i] = err
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

func (s *subscription) IsRetryable(err error) bool { return isRetryable(err) }

func (s *subscription) As(i any) bool {
	if p, ok := i.(*jetstream.JetStream); ok {
		*p = s.js
		return true
	}
	return false
}

func (s *subscription) ErrorAs(err error, i any) bool { return errorAs(err, i) }

func (s *subscription) ErrorCode(err error) gcerrors.ErrorCode { return errorCode(err) }

// Close does nothing: the connection belongs to the opener or the caller.
func (s *subscription) Close() error { return nil }

// Metadata as headers: keys and values are percent-encoded, so that any
// string survives NATS's header lines (no ':' in a key, no line breaks,
// no leading or trailing spaces).

func encodeMetadata(md map[string]string) nats.Header {
	if len(md) == 0 {
		return nil
	}
	h := make(nats.Header, len(md))
	for k, v := range md {
		k = escape(k)
		if reserved(k) { // JetStream reads Nats-* headers: keep the user's out of its way
			k = "%" + strconv.FormatInt(int64(k[0]), 16) + k[1:]
		}
		h.Set(k, escape(v))
	}
	return h
}

func decodeMetadata(h nats.Header) map[string]string {
	if len(h) == 0 {
		return nil
	}
	md := make(map[string]string, len(h))
	for k, vs := range h {
		if len(vs) == 0 || reserved(k) { // the protocol's, not the sender's
			continue
		}
		md[unescape(k)] = unescape(vs[0])
	}
	return md
}

// reserved reports whether a header key is one of NATS's own (Nats-Msg-Id,
// Nats-Expected-Stream, ...).
func reserved(k string) bool {
	return len(k) >= 5 && strings.EqualFold(k[:5], "nats-")
}

func safe(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~'
}

func escape(s string) string {
	n := 0
	for i := 0; i < len(s); i++ {
		if !safe(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		if c := s[i]; safe(c) {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}

// unescape reverses escape; a header that another publisher wrote and that
// is not valid percent-encoding is returned as it is.
func unescape(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	u, err := url.PathUnescape(s)
	if err != nil {
		return s
	}
	return u
}

// Errors.

func isRetryable(err error) bool {
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return api.Code == 503
	}
	return errors.Is(err, nats.ErrTimeout) || errors.Is(err, jetstream.ErrAsyncPublishTimeout) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, jetstream.ErrTooManyStalledMsgs)
}

func errorAs(err error, i any) bool {
	return errors.As(err, i)
}

// JetStream's error code for a publish whose expected stream is not the one
// storing the subject.
const errCodeStreamNotMatch jetstream.ErrorCode = 10060

func errorCode(err error) gcerrors.ErrorCode {
	switch {
	case errors.Is(err, context.Canceled):
		return gcerrors.Canceled
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, nats.ErrTimeout), errors.Is(err, jetstream.ErrAsyncPublishTimeout):
		return gcerrors.DeadlineExceeded
	case errors.Is(err, jetstream.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders),
		errors.Is(err, jetstream.ErrStreamNotFound), errors.Is(err, jetstream.ErrConsumerNotFound),
		errors.Is(err, jetstream.ErrConsumerDeleted):
		return gcerrors.NotFound
	case errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrDrainTimeout):
		return gcerrors.FailedPrecondition
	case errors.Is(err, nats.ErrMaxPayload), errors.Is(err, nats.ErrBadSubject), errors.Is(err, jetstream.ErrInvalidOption):
		return gcerrors.InvalidArgument
	case errors.Is(err, jetstream.ErrTooManyStalledMsgs):
		return gcerrors.ResourceExhausted
	case errors.Is(err, nats.ErrConnectionReconnecting):
		return gcerrors.Internal
	}
	var api *jetstream.APIError
	if errors.As(err, &api) {
		if api.ErrorCode == errCodeStreamNotMatch {
			return gcerrors.NotFound
		}
		switch api.Code {
		case 400:
			return gcerrors.InvalidArgument
		case 401, 403:
			return gcerrors.PermissionDenied
		case 404:
			return gcerrors.NotFound
		case 408:
			return gcerrors.DeadlineExceeded
		case 409:
			return gcerrors.FailedPrecondition
		case 429:
			return gcerrors.ResourceExhausted
		case 503: // no JetStream, no leader: retryable, see isRetryable
			return gcerrors.Internal
		}
	}
	return gcerrors.Unknown
}

// URLOpener opens jetstream:// URLs; see the package documentation. The
// zero value connects to each server URL once, on first use, and keeps the
// connection.
type URLOpener struct {
	// Connect, if set, returns the JetStream context for a server URL
	// (tests, or a caller that owns its connections).
	Connect func(server string) (jetstream.JetStream, error)

	mu    sync.Mutex
	conns map[string]jetstream.JetStream
}

func (o *URLOpener) jetStream(server string) (jetstream.JetStream, error) {
	if o.Connect != nil {
		return o.Connect(server)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if js, ok := o.conns[server]; ok {
		return js, nil
	}
	nc, err := nats.Connect(server, nats.Name("polyfn jetstreampubsub"), nats.MaxReconnects(-1))
	if err != nil {
		return nil, fmt.Errorf("jetstreampubsub: connecting to %s: %w", server, err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(publishTimeout))
	if err != nil {
		nc.Close()
		return nil, err
	}
	if o.conns == nil {
		o.conns = map[string]jetstream.JetStream{}
	}
	o.conns[server] = js
	return js, nil
}

// parsed is a jetstream:// URL's parts.
type parsed struct {
	server, stream, name string
	q                    url.Values
}

func parse(u *url.URL, allowed ...string) (parsed, error) {
	q := u.Query()
	for k := range q {
		ok := k == "server" || k == "create"
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return parsed{}, fmt.Errorf("jetstreampubsub: %s: unknown parameter %q", u.Redacted(), k)
		}
	}
	name := strings.TrimPrefix(u.Path, "/")
	if u.Host == "" || name == "" || strings.Contains(name, "/") {
		return parsed{}, fmt.Errorf("jetstreampubsub: %s: want jetstream://STREAM/NAME", u.Redacted())
	}
	server := q.Get("server")
	if server == "" {
		server = os.Getenv("NATS_SERVER_URL")
	}
	if server == "" {
		return parsed{}, fmt.Errorf("jetstreampubsub: %s: no server: set ?server=nats://host:4222 or NATS_SERVER_URL", u.Redacted())
	}
	return parsed{server: server, stream: u.Host, name: name, q: q}, nil
}

func boolParam(q url.Values, k string) (bool, error) {
	v := q.Get(k)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("jetstreampubsub: parameter %s=%q is not a boolean", k, v)
	}
	return b, nil
}

// OpenTopicURL opens jetstream://STREAM/SUBJECT.
func (o *URLOpener) OpenTopicURL(ctx context.Context, u *url.URL) (*pubsub.Topic, error) {
	p, err := parse(u)
	if err != nil {
		return nil, err
	}
	create, err := boolParam(p.q, "create")
	if err != nil {
		return nil, err
	}
	js, err := o.jetStream(p.server)
	if err != nil {
		return nil, err
	}
	return OpenTopic(ctx, js, p.stream, p.name, &TopicOptions{Create: create})
}

// OpenSubscriptionURL opens jetstream://STREAM/CONSUMER.
func (o *URLOpener) OpenSubscriptionURL(ctx context.Context, u *url.URL) (*pubsub.Subscription, error) {
	p, err := parse(u, "subject", "ackwait", "maxdeliver")
	if err != nil {
		return nil, err
	}
	opts := &SubscriptionOptions{Subject: p.q.Get("subject")}
	if opts.Create, err = boolParam(p.q, "create"); err != nil {
		return nil, err
	}
	if v := p.q.Get("ackwait"); v != "" {
		if opts.AckWait, err = time.ParseDuration(v); err != nil || opts.AckWait <= 0 {
			return nil, fmt.Errorf("jetstreampubsub: parameter ackwait=%q is not a positive duration", v)
		}
	}
	if v := p.q.Get("maxdeliver"); v != "" {
		if opts.MaxDeliver, err = strconv.Atoi(v); err != nil || opts.MaxDeliver <= 0 {
			return nil, fmt.Errorf("jetstreampubsub: parameter maxdeliver=%q is not a positive integer", v)
		}
	}
	js, err := o.jetStream(p.server)
	if err != nil {
		return nil, err
	}
	return OpenSubscription(ctx, js, p.stream, p.name, opts)
}
