// Package jsonlog is a slog.Handler that writes one JSON object per record,
// byte for byte as slog.JSONHandler does with the cloud log formats'
// ReplaceAttr functions, at about half the cost.
//
// The formats differ in the record's built-in fields: the key and form of
// the time and of the level (Lambda's "timestamp" in milliseconds, Cloud
// Logging's "severity"). Handing those to a ReplaceAttr, as slog does, costs
// a formatted string and a boxed level per record; here they are written by
// the Options' own functions. Every other attribute, the message included,
// passes through Options.ReplaceAttr as slog passes it, so a format's
// renames and telemetry.RedactAttr apply unchanged.
//
// A format's invocation fields (Lambda's request id, Cloud Logging's trace
// and httpRequest) are written by Options.AppendContext straight from the
// record's context, already encoded, rather than as attributes that a
// wrapping handler adds and ReplaceAttr then rewrites one by one.
package jsonlog

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Options configure a Handler. The zero value writes what
// slog.NewJSONHandler(w, nil) writes.
type Options struct {
	// Level is the minimum level handled; nil means slog.LevelInfo.
	Level slog.Leveler

	// TimeKey names the record's time, slog.TimeKey ("time") when empty. A
	// record with a zero time has none.
	TimeKey string
	// AppendTime appends the record's time as a JSON value, its monotonic
	// reading stripped; nil means AppendTime (slog's RFC 3339 form).
	AppendTime func(b []byte, t time.Time) []byte

	// LevelKey names the record's level, slog.LevelKey ("level") when empty.
	LevelKey string
	// LevelName is the text written for a level; nil means Level.String.
	LevelName func(slog.Level) string

	// ReplaceAttr, when set, rewrites each attribute that is not a group
	// before it is written, with the groups it is in, as slog's
	// HandlerOptions.ReplaceAttr does. The message is such an attribute
	// (slog.String(slog.MessageKey, msg), with no groups); the time and the
	// level are not: they are written as the fields above say.
	ReplaceAttr func(groups []string, a slog.Attr) slog.Attr

	// AppendContext, when set, writes the members that the record's
	// context gives every line, which log readers expect at the top level
	// of an entry whatever groups the handler was opened with: a cloud's
	// request id, trace, labels. It appends each member to b as
	// `,"key":value` (the leading comma included, since the built-in fields
	// come before), and returns the extended buffer. The members follow the
	// message, before the handler's and the record's attributes, where
	// telemetry.StampHandler puts a stamp; ReplaceAttr does not see them,
	// so they must be written in their final form. AppendString and
	// AppendEscaped write strings as the rest of the line is written.
	AppendContext func(ctx context.Context, b []byte) []byte
}

// Handler writes records as JSON lines. Its methods may be called
// concurrently; each record is written with one Write call, under a mutex
// that the handlers derived from it by WithAttrs and WithGroup share.
type Handler struct {
	opts *Options // shared, never changed
	w    io.Writer
	mu   *sync.Mutex

	// pre holds the WithAttrs attributes, encoded, with the groups that
	// were open when they were added: the first nOpen of groups.
	pre    []byte
	groups []string
	nOpen  int
}

var _ slog.Handler = (*Handler)(nil)

// New returns a Handler that writes to w; a nil opts is the zero Options.
func New(w io.Writer, opts *Options) *Handler {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.TimeKey == "" {
		o.TimeKey = slog.TimeKey
	}
	if o.AppendTime == nil {
		o.AppendTime = AppendTime
	}
	if o.LevelKey == "" {
		o.LevelKey = slog.LevelKey
	}
	if o.LevelName == nil {
		o.LevelName = slog.Level.String
	}
	return &Handler{opts: &o, w: w, mu: new(sync.Mutex)}
}

// Enabled reports whether level is at least Options.Level.
func (h *Handler) Enabled(_ context.Context, level slog.Level) bool {
	min := slog.LevelInfo
	if h.opts.Level != nil {
		min = h.opts.Level.Level()
	}
	return level >= min
}

// Handle writes r as one line.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	s := newState(h)
	defer s.free()
	s.buf = h.appendRecord(ctx, s, r)
	s.buf = append(s.buf, '\n')
	h.mu.Lock()
	defer h.mu.Unlock()
	_, err := h.w.Write(s.buf)
	return err
}

// WriteRecord formats r, logged with ctx, as Handle does, the newline
// included, and hands the line to write in place of the Handler's writer,
// under no lock: for a handler that sends each line to more than one place.
// The line is the Handler's own buffer: write must neither keep it nor
// change it.
func (h *Handler) WriteRecord(ctx context.Context, r slog.Record, write func(line []byte) error) error {
	s := newState(h)
	defer s.free()
	s.buf = h.appendRecord(ctx, s, r)
	s.buf = append(s.buf, '\n')
	return write(s.buf)
}

// AppendRecord appends r, logged with ctx, to b as Handle writes it,
// without the newline, and returns the extended buffer. It writes nothing
// to the Handler's writer.
func (h *Handler) AppendRecord(ctx context.Context, b []byte, r slog.Record) []byte {
	s := newState(h)
	defer s.free()
	// Formatted in the pooled buffer and copied, so that the pool never
	// holds b, even after a panic.
	s.buf = h.appendRecord(ctx, s, r)
	return append(b, s.buf...)
}

func (h *Handler) appendRecord(ctx context.Context, s *state, r slog.Record) []byte {
	s.buf = append(s.buf, '{')
	if !r.Time.IsZero() {
		s.key(h.opts.TimeKey)
		s.buf = h.opts.AppendTime(s.buf, r.Time.Round(0))
	}
	s.key(h.opts.LevelKey)
	s.buf = appendString(s.buf, h.opts.LevelName(r.Level))
	s.attr(slog.String(slog.MessageKey, r.Message)) // with no groups
	s.groups = s.groups[:0]                         // slog keeps none a ReplaceAttr opened
	if h.opts.AppendContext != nil {
		s.buf = h.opts.AppendContext(ctx, s.buf)
	}

	if len(h.pre) > 0 {
		if s.sep {
			s.buf = append(s.buf, ',')
		}
		s.buf = append(s.buf, h.pre...)
		s.sep = h.pre[len(h.pre)-1] != '{'
	}
	open := h.nOpen
	if r.NumAttrs() > 0 {
		s.groups = append(s.groups, h.groups[:h.nOpen]...)
		pos := len(s.buf)
		s.openGroups()
		open = len(h.groups)
		written := false
		r.Attrs(func(a slog.Attr) bool {
			if s.attr(a) {
				written = true
			}
			return true
		})
		if !written {
			s.buf = s.buf[:pos]
			open = h.nOpen
		}
	}
	for range open {
		s.buf = append(s.buf, '}')
	}
	return append(s.buf, '}')
}

// WithAttrs returns a handler that writes attrs, encoded now, after each
// record's built-in fields.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if !slices.ContainsFunc(attrs, func(a slog.Attr) bool { return !isEmptyGroup(a.Value) }) {
		return h
	}
	h2 := h.clone()
	s := newState(h)
	defer s.free()
	s.buf = append(s.buf, h.pre...)
	s.sep = len(h.pre) > 0 && h.pre[len(h.pre)-1] != '{'
	s.groups = append(s.groups, h.groups[:h.nOpen]...)
	pos := len(s.buf)
	s.openGroups()
	if s.attrs(attrs) {
		h2.nOpen = len(h.groups)
	} else {
		s.buf = s.buf[:pos]
	}
	h2.pre = slices.Clone(s.buf)
	return h2
}

// WithGroup returns a handler that writes later attributes in group name.
// An empty name returns h, as the slog.Handler contract says (slog's JSON
// handler opens a group named "").
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := h.clone()
	h2.groups = append(slices.Clip(h.groups), name)
	return h2
}

func (h *Handler) clone() *Handler {
	return &Handler{opts: h.opts, w: h.w, mu: h.mu, pre: slices.Clip(h.pre), groups: slices.Clip(h.groups), nOpen: h.nOpen}
}

func isEmptyGroup(v slog.Value) bool {
	return v.Kind() == slog.KindGroup && len(v.Group()) == 0
}

// state is one record's (or one WithAttrs call's) encoding: the buffer, the
// groups open at this point, and whether a ',' must precede the next key.
type state struct {
	h      *Handler
	buf    []byte
	groups []string
	sep    bool
}

var states = sync.Pool{New: func() any {
	return &state{buf: make([]byte, 0, 1024), groups: make([]string, 0, 8)}
}}

// maxPooled is the largest buffer that goes back to the pool.
const maxPooled = 64 << 10

func newState(h *Handler) *state {
	s := states.Get().(*state)
	s.h = h
	return s
}

func (s *state) free() {
	if cap(s.buf) > maxPooled {
		return
	}
	clear(s.groups) // let go of the names
	s.h, s.buf, s.groups, s.sep = nil, s.buf[:0], s.groups[:0], false
	states.Put(s)
}

func (s *state) key(k string) {
	if s.sep {
		s.buf = append(s.buf, ',')
	}
	s.buf = appendString(s.buf, k)
	s.buf = append(s.buf, ':')
	s.sep = true
}

// openGroups opens the handler's groups that its WithAttrs attributes are
// not in.
func (s *state) openGroups() {
	for _, g := range s.h.groups[s.h.nOpen:] {
		s.openGroup(g)
	}
}

func (s *state) openGroup(name string) {
	s.key(name)
	s.buf = append(s.buf, '{')
	s.sep = false
	s.groups = append(s.groups, name)
}

func (s *state) closeGroup() {
	s.buf = append(s.buf, '}')
	s.sep = true
	s.groups = s.groups[:len(s.groups)-1]
}

// attrs writes as and reports whether any of them wrote anything.
func (s *state) attrs(as []slog.Attr) bool {
	written := false
	for _, a := range as {
		if s.attr(a) {
			written = true
		}
	}
	return written
}

// attr writes a, resolved and replaced, as slog does, and reports whether
// it counts as written. The rules are slog's, quirks included, so that the
// bytes are the same: an empty group counts as written though it writes
// nothing, and a group whose members all vanish is cut from the buffer
// without the separator state or the group stack being restored.
func (s *state) attr(a slog.Attr) bool {
	a.Value = a.Value.Resolve()
	if rep := s.h.opts.ReplaceAttr; rep != nil && a.Value.Kind() != slog.KindGroup {
		a = rep(s.groups, a)
		a.Value = a.Value.Resolve()
	}
	if a.Key == "" && a.Value.Kind() == slog.KindAny && a.Value.Any() == nil {
		return false
	}
	if a.Value.Kind() == slog.KindAny {
		if src, ok := a.Value.Any().(*slog.Source); ok {
			if src == nil || *src == (slog.Source{}) {
				return false
			}
			a.Value = sourceGroup(src)
		}
	}
	if a.Value.Kind() != slog.KindGroup {
		s.key(a.Key)
		s.buf = appendValue(s.buf, a.Value)
		return true
	}
	members := a.Value.Group()
	if len(members) == 0 {
		return true
	}
	pos := len(s.buf)
	if a.Key != "" {
		s.openGroup(a.Key)
	}
	if !s.attrs(members) {
		s.buf = s.buf[:pos]
		return false
	}
	if a.Key != "" {
		s.closeGroup()
	}
	return true
}

// sourceGroup is a source location as slog's JSON handler writes it.
func sourceGroup(src *slog.Source) slog.Value {
	var as []slog.Attr
	if src.Function != "" {
		as = append(as, slog.String("function", src.Function))
	}
	if src.File != "" {
		as = append(as, slog.String("file", src.File))
	}
	if src.Line != 0 {
		as = append(as, slog.Int("line", src.Line))
	}
	return slog.GroupValue(as...)
}
