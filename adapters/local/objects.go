package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"gocloud.dev/blob"

	"github.com/polyfn/polyfn/core"
)

// bucketWatch fires the object triggers of one bucket URL. It keeps a
// snapshot of the bucket's objects and diffs it against a fresh listing after
// each file-system notification (file:// buckets) and every PollInterval
// (every bucket): a new or changed object fires created events once it has
// stayed unchanged for Settle, a vanished one fires deleted events. Objects
// present when the runtime starts fire nothing.
type bucketWatch struct {
	rt      *Runtime
	url     string
	name    string // the bucket's name in events
	source  string // the events' CloudEvents source
	bucket  *blob.Bucket
	dir     string // for file:// buckets, else ""
	targets []core.EventFunc
	known   map[string]objSig
	pending map[string]pendingObj
}

type objSig struct {
	size    int64
	modTime time.Time
	md5     string
}

type pendingObj struct {
	sig   objSig
	since time.Time
}

// fileblob writes an object to "<key>.<hex nanoseconds>.tmp" and renames it
// into place; such files are not objects yet.
var fileblobTemp = regexp.MustCompile(`\.[0-9a-f]+\.tmp$`)

func (rt *Runtime) startObjectWatch(ctx context.Context, bucketURL string, targets []core.EventFunc) error {
	b, err := blob.OpenBucket(ctx, bucketURL)
	if err != nil {
		return fmt.Errorf("local: opening bucket %s: %w", redact(bucketURL), err)
	}
	w := &bucketWatch{
		rt: rt, url: bucketURL, bucket: b, dir: localDir(bucketURL), targets: targets,
		known: map[string]objSig{}, pending: map[string]pendingObj{},
	}
	w.source = redact(bucketURL)
	w.name = path.Base(strings.TrimSuffix(w.source, "/"))
	if w.dir != "" {
		w.name = filepath.Base(w.dir)
	}
	current, err := w.list(ctx)
	if err != nil {
		_ = b.Close()
		return err
	}
	w.known = current

	var notify *fsnotify.Watcher
	if w.dir != "" {
		notify, err = fsnotify.NewWatcher()
		if err == nil {
			err = w.addTree(notify, w.dir)
		}
		if err != nil {
			// Notifications only make events faster; polling still finds them.
			rt.log.Warn("watching bucket directory; falling back to polling",
				slog.String("dir", w.dir), slog.Any("error", err))
			if notify != nil {
				_ = notify.Close()
			}
			notify = nil
		}
	}
	rt.sources.Add(1)
	go func() {
		defer rt.sources.Done()
		defer b.Close()
		if notify != nil {
			defer notify.Close()
		}
		w.loop(notify)
	}()
	return nil
}

func (w *bucketWatch) addTree(n *fsnotify.Watcher, root string) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return n.Add(p)
		}
		return nil
	})
}

func (w *bucketWatch) loop(notify *fsnotify.Watcher) {
	var events <-chan fsnotify.Event
	var errs <-chan error
	if notify != nil {
		events, errs = notify.Events, notify.Errors
	}
	poll := time.NewTicker(w.rt.opts.PollInterval)
	defer poll.Stop()
	// scan is armed by notifications and by pending objects, so a burst of
	// notifications costs one listing.
	scan := time.NewTimer(time.Hour)
	scan.Stop()
	arm := func(d time.Duration) { scan.Reset(d) }
	for {
		select {
		case <-w.rt.intake.Done():
			return
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			if ev.Has(fsnotify.Create) {
				if fi, err := os.Stat(ev.Name); err == nil && fi.IsDir() {
					_ = w.addTree(notify, ev.Name) // new key prefix: watch it and what is already in it
				}
			}
			arm(20 * time.Millisecond)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			w.rt.log.Warn("bucket notifications", slog.String("dir", w.dir), slog.Any("error", err))
			arm(0) // an overflow loses notifications: rescan
		case <-poll.C:
			w.scan()
		case <-scan.C:
			if wait := w.scan(); wait > 0 {
				arm(wait)
			}
		}
	}
}

// list returns the bucket's objects, leaving out fileblob's temp files.
func (w *bucketWatch) list(ctx context.Context) (map[string]objSig, error) {
	out := map[string]objSig{}
	it := w.bucket.List(nil)
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("local: listing bucket %s: %w", w.source, err)
		}
		if obj.IsDir || fileblobTemp.MatchString(obj.Key) {
			continue
		}
		out[obj.Key] = objSig{size: obj.Size, modTime: obj.ModTime, md5: string(obj.MD5)}
	}
}

// scan diffs a fresh listing against the snapshot and fires what changed.
// It returns how long until a pending object may settle, or 0.
func (w *bucketWatch) scan() time.Duration {
	ctx := w.rt.intake
	current, err := w.list(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.rt.log.Warn("scanning bucket", slog.String("bucket", w.source), slog.Any("error", err))
		}
		return 0
	}
	now := time.Now()
	settle := w.rt.opts.Settle
	var wait time.Duration
	for key, sig := range current {
		if old, ok := w.known[key]; ok && old.equal(sig) {
			delete(w.pending, key)
			continue
		}
		p, ok := w.pending[key]
		if !ok || !p.sig.equal(sig) {
			w.pending[key] = pendingObj{sig: sig, since: now}
			wait = minPositive(wait, settle)
			continue
		}
		if left := settle - now.Sub(p.since); left > 0 {
			wait = minPositive(wait, left)
			continue
		}
		delete(w.pending, key)
		w.known[key] = sig
		w.fire(ctx, core.KindObjectCreated, key, sig)
	}
	for key, sig := range w.known {
		if _, ok := current[key]; !ok {
			delete(w.known, key)
			w.fire(ctx, core.KindObjectDeleted, key, sig)
		}
	}
	for key := range w.pending {
		if _, ok := current[key]; !ok {
			delete(w.pending, key)
		}
	}
	return wait
}

func (s objSig) equal(o objSig) bool {
	return s.size == o.size && s.modTime.Equal(o.modTime) && s.md5 == o.md5
}

func minPositive(a, b time.Duration) time.Duration {
	if a == 0 || b < a {
		return b
	}
	return a
}

// fire dispatches one object event to every matching trigger.
func (w *bucketWatch) fire(ctx context.Context, kind core.Kind, key string, sig objSig) {
	var targets []core.EventFunc
	for _, fn := range w.targets {
		if fn.Trigger.(core.ObjectTrigger).Matches(kind, key) {
			targets = append(targets, fn)
		}
	}
	if len(targets) == 0 {
		return
	}
	obj := &core.Object{Bucket: w.name, Key: key, Size: sig.size}
	typ, native := core.TypeObjectCreated, "local.object.created"
	if kind == core.KindObjectDeleted {
		typ, native = core.TypeObjectDeleted, "local.object.deleted"
	} else if attrs, err := w.bucket.Attributes(ctx, key); err == nil {
		obj.ContentType, obj.ETag = attrs.ContentType, attrs.ETag
	} else if ctx.Err() == nil {
		// Gone again already: its deletion is seen by the next scan.
		w.rt.log.Debug("object vanished before its event", slog.String("key", key), slog.Any("error", err))
	}
	if len(sig.md5) > 0 && obj.ETag == "" {
		obj.ETag = fmt.Sprintf("%x", []byte(sig.md5))
	}
	obj.EventName = native
	for _, fn := range targets {
		id := newID()
		e, err := core.NewEvent(typ, id, w.source, obj)
		if err != nil {
			panic(err) // the type and data match
		}
		e.SetSubject(key)
		e.SetTime(sig.modTime.UTC())
		e.SetExtension(core.NativeTypeExtension, native)
		w.rt.dispatch(fn, e)
	}
}

// objectGroups groups an app's object triggers by bucket URL, so that one
// watcher serves every trigger on the same bucket.
func objectGroups(a *app) (urls []string, groups map[string][]core.EventFunc) {
	groups = map[string][]core.EventFunc{}
	for _, fn := range a.EventFuncs() {
		t, ok := fn.Trigger.(core.ObjectTrigger)
		if !ok {
			continue
		}
		u := a.env(t.Bucket)
		if _, seen := groups[u]; !seen {
			urls = append(urls, u)
		}
		groups[u] = append(groups[u], fn)
	}
	return urls, groups
}
