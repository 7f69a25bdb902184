package local

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/polyfn/polyfn/core"
)

// resourceName derives a short local name from a variable: USERS_BUCKET_URL
// → "users", THUMBNAILS_TOPIC_URL → "thumbnails", API_KEY_SECRET → "api-key-secret".
func resourceName(r core.Resource) string {
	n := strings.TrimSuffix(r.Env, "_URL")
	for _, suffix := range []string{"_BUCKET", "_TOPIC", "_SUBSCRIPTION", "_QUEUE", "_KEEPER", "_VARIABLE", "_VAR"} {
		if t := strings.TrimSuffix(n, suffix); t != n && t != "" {
			n = t
			break
		}
	}
	return strings.ReplaceAll(strings.ToLower(n), "_", "-")
}

// defaults gives the local runtime's URL for a resource whose variable is
// unset: everything lives under the data directory or in memory.
type defaults struct {
	dataDir string // absolute
	issuer  string // the development OIDC issuer's URL, if one runs
}

func (d defaults) url(r core.Resource) (string, error) {
	name := resourceName(r)
	switch r.Kind {
	case core.KindBucket:
		// no_tmp_dir keeps temp files beside their object, so the rename that
		// publishes an object never crosses a file-system boundary.
		return fileURL(filepath.Join(d.dataDir, "buckets", name)) + "?create_dir=true&no_tmp_dir=true", nil
	case core.KindTopic, core.KindSubscription:
		return "mem://" + name, nil
	case core.KindKeeper:
		key, err := d.keeperKey()
		if err != nil {
			return "", err
		}
		return "base64key://" + key, nil
	case core.KindVariable:
		p := filepath.Join(d.dataDir, "variables", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", fmt.Errorf("local: variable %s: %w", r.Env, err)
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_RDONLY, 0o644)
		if err != nil {
			return "", fmt.Errorf("local: variable %s: %w", r.Env, err)
		}
		_ = f.Close()
		return fileURL(p) + "?decoder=string", nil
	case core.KindOIDCIssuer:
		if d.issuer == "" {
			return "", fmt.Errorf("local: %s: no development OIDC issuer runs (set Options.OIDCIssuer, as polyfn dev does)", r.Env)
		}
		return d.issuer, nil
	case core.KindOIDCAudience:
		return DevAudience, nil
	case core.KindStream:
		// No default: the trigger names the error (startStream).
		return "", nil
	}
	return "", fmt.Errorf("local: no local default for %s (a %s)", r.Env, r.Kind)
}

// keeperKey returns the development keeper's key, made once and kept in the
// data directory so that data encrypted in one run decrypts in the next.
func (d defaults) keeperKey() (string, error) {
	p := filepath.Join(d.dataDir, "secrets", "keeper.key")
	b, err := os.ReadFile(p)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("local: reading the development key: %w", err)
	}
	var raw [32]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	key := base64.URLEncoding.EncodeToString(raw[:])
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", fmt.Errorf("local: writing the development key: %w", err)
	}
	if err := os.WriteFile(p, []byte(key+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("local: writing the development key: %w", err)
	}
	return key, nil
}

// resolveEnv resolves app's environment: set variables win, unset ones get
// local defaults. A message trigger whose subscription is defaulted follows
// its topic's URL when that is an in-memory topic, so that publishing to the
// topic reaches the function.
func (d defaults) resolveEnv(app *core.App, lookup func(string) (string, bool)) (core.Env, error) {
	var derr error
	env, err := core.ResolveEnv(app, lookup, func(r core.Resource) string {
		u, err := d.url(r)
		if err != nil && derr == nil {
			derr = err
		}
		return u
	})
	if derr != nil {
		return nil, derr
	}
	if err != nil {
		return nil, err
	}
	overrides := map[string]string{}
	for _, f := range app.EventFuncs() {
		t, ok := f.Trigger.(core.MessageTrigger)
		if !ok || t.Topic == "" {
			continue
		}
		if v, set := lookup(t.Subscription); set && v != "" {
			continue
		}
		if topic := env(t.Topic); strings.HasPrefix(topic, "mem://") {
			overrides[t.Subscription] = topic
		}
	}
	if len(overrides) == 0 {
		return env, nil
	}
	return func(key string) string {
		if v, ok := overrides[key]; ok {
			return v
		}
		return env(key)
	}, nil
}

func fileURL(path string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(path)}).String()
}

// localDir returns the directory of a file:// bucket URL, or "".
func localDir(bucketURL string) string {
	u, err := url.Parse(bucketURL)
	if err != nil || u.Scheme != "file" {
		return ""
	}
	if u.Host == "." {
		return filepath.FromSlash(strings.TrimPrefix(u.Path, "/"))
	}
	return filepath.FromSlash(u.Path)
}
