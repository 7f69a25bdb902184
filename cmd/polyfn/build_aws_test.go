package main

import (
	"archive/zip"
	"bytes"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
	awsdeploy "github.com/polyfn/polyfn/deploy/aws"
	"github.com/polyfn/polyfn/deploy/deploytest"
	"github.com/polyfn/polyfn/functions/orders"
	"github.com/polyfn/polyfn/functions/thumbnails"
	"github.com/polyfn/polyfn/functions/users"
)

// awsCases are the apps whose templates are golden: the examples and the
// kitchen sink, on the default architecture (arm64) or amd64, where the
// kitchen sink's ingest function declares arm64 and gets a second zip.
func awsCases() []struct {
	name, arch string
	m          core.Manifest
} {
	return []struct {
		name, arch string
		m          core.Manifest
	}{
		{"users", "arm64", users.New().Manifest()},
		{"thumbnails", "arm64", thumbnails.New().Manifest()},
		{"orders", "amd64", orders.New().Manifest()},
		{"kitchen-sink", "amd64", deploytest.KitchenSink().Manifest()},
	}
}

func TestSAMTemplateGolden(t *testing.T) {
	for _, tt := range awsCases() {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := awsTemplate(tt.name, tt.arch, []core.Manifest{tt.m}, nil)
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", "aws", tt.name+".template.yaml")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -run TestSAMTemplateGolden -update to write it)", err)
			}
			if d := cmp.Diff(string(want), string(got)); d != "" {
				t.Errorf("template (-want +got):\n%s", d)
			}
		})
	}
}

// TestSAMTemplateArchs checks that each architecture the units run on gets
// its bootstrap, the build's own first.
func TestSAMTemplateArchs(t *testing.T) {
	_, archs, err := awsTemplate("kitchen-sink", "amd64", []core.Manifest{deploytest.KitchenSink().Manifest()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []core.Arch{core.X86_64, core.ARM64}; !slices.Equal(archs, want) {
		t.Errorf("archs %v, want %v", archs, want)
	}
	if got := awsZipName("k", "amd64", core.ARM64); got != "k-arm64.zip" {
		t.Errorf("zip %s", got)
	}
}

// TestSAMTemplateLint runs cfn-lint on the golden templates, informational
// findings included: it checks every resource's properties against
// CloudFormation's resource specification, and the template must give it
// nothing to say.
func TestSAMTemplateLint(t *testing.T) {
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("cfn-lint is not installed (pip install cfn-lint)")
		}
		t.Skip("cfn-lint is not installed (pip install cfn-lint)")
	}
	golden, _ := filepath.Glob(filepath.Join("testdata", "aws", "*.template.yaml"))
	if len(golden) < len(awsCases()) {
		t.Fatalf("golden templates %v, want one per case", golden)
	}
	out, err := exec.Command(lint, append([]string{"--include-checks", "I", "--"}, golden...)...).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("cfn-lint --include-checks I %v: %v\n%s", golden, err, out)
	}
}

// samDoc is a template read back: plain maps and lists.
type samDoc map[string]any

func parseTemplate(t *testing.T, b []byte) samDoc {
	t.Helper()
	var doc samDoc
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("the template does not parse: %v", err)
	}
	return doc
}

// dig follows keys through nested maps; nil when one is missing.
func dig(v any, path ...string) any {
	if d, ok := v.(samDoc); ok {
		v = map[string]any(d)
	}
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// resources returns the template's resources of a type, by logical id.
func (d samDoc) resources(typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range d["Resources"].(map[string]any) {
		r := r.(map[string]any)
		if r["Type"] == typ {
			out[id] = r
		}
	}
	return out
}

// unitFunction returns the properties of the function whose POLYFN_UNIT is
// unit.
func (d samDoc) unitFunction(t *testing.T, unit string) map[string]any {
	t.Helper()
	for _, f := range d.resources("AWS::Serverless::Function") {
		if dig(f, "Properties", "Environment", "Variables", core.UnitEnv) == unit {
			return f["Properties"].(map[string]any)
		}
	}
	t.Fatalf("no function has %s=%s", core.UnitEnv, unit)
	return nil
}

// unwrapIf returns the then-branch of an Fn::If, or v.
func unwrapIf(v any) any {
	if l, ok := dig(v, "Fn::If").([]any); ok && len(l) == 3 {
		return l[1]
	}
	return v
}

// subOf returns an Fn::Sub's string and variables.
func subOf(v any) (string, map[string]any, bool) {
	switch s := dig(v, "Fn::Sub").(type) {
	case string:
		return s, nil, true
	case []any:
		if len(s) == 2 {
			str, _ := s[0].(string)
			vars, _ := s[1].(map[string]any)
			return str, vars, str != ""
		}
	}
	return "", nil, false
}

// refersTo reports whether v is a Ref of, or a GetAtt on, a parameter or
// resource of the template.
func (d samDoc) refersTo(v any) bool {
	if r, ok := dig(v, "Ref").(string); ok {
		return dig(d, "Parameters", r) != nil || dig(d, "Resources", r) != nil
	}
	if g, ok := dig(v, "Fn::GetAtt").([]any); ok && len(g) == 2 {
		return dig(d, "Resources", g[0].(string)) != nil
	}
	return false
}

var placeholders = regexp.MustCompile(`\$\{(Name|Arn|Keys)\}`)

// TestSAMTemplateGrants reads each template back and checks every unit:
// each of its resource variables is set in its function's environment (a
// URL of the kind's scheme, built from the template's parameters and
// resources), and its role's policy for the variable holds exactly the
// statements of deploy.AWSGrants, placeholders bound to the template's
// values; no other variable's policy is there; a read-only bucket is
// written or deleted by no statement of any role.
func TestSAMTemplateGrants(t *testing.T) {
	for _, tt := range awsCases() {
		t.Run(tt.name, func(t *testing.T) {
			b, _, err := awsTemplate(tt.name, tt.arch, []core.Manifest{tt.m}, nil)
			if err != nil {
				t.Fatal(err)
			}
			doc := parseTemplate(t, b)
			p, err := deploy.NewPlan([]core.Manifest{tt.m}, nil)
			if err != nil {
				t.Fatal(err)
			}
			readOnly := map[string]bool{} // the values that name read-only buckets
			for _, u := range p.Units {
				fn := doc.unitFunction(t, u.Name)
				env := fn["Environment"].(map[string]any)["Variables"].(map[string]any)
				for _, r := range u.Resources {
					v, ok := env[r.Env]
					if !ok {
						t.Errorf("unit %s: %s is not set", u.Name, r.Env)
						continue
					}
					v = unwrapIf(v)
					if scheme := deploy.DefaultScheme(deploy.AWS, r.Kind); scheme != "" {
						s, vars, ok := subOf(v)
						if !ok || !strings.HasPrefix(s, scheme+"://") {
							t.Errorf("unit %s: %s = %v, want an Fn::Sub of a %s:// URL", u.Name, r.Env, v, scheme)
						}
						for _, val := range vars {
							if !doc.refersTo(val) {
								t.Errorf("unit %s: %s: %v names nothing in the template", u.Name, r.Env, val)
							}
						}
						if r.Kind == core.KindBucket && r.Use == core.Read {
							key, _ := yaml.Marshal(vars["Name"])
							readOnly[string(key)] = true
						}
					} else if !doc.refersTo(v) {
						t.Errorf("unit %s: %s = %v, want a parameter", u.Name, r.Env, v)
					}
				}

				roleID := dig(fn, "Role", "Fn::GetAtt").([]any)[0].(string)
				policies := map[string][]any{}
				for _, pol := range dig(doc, "Resources", roleID, "Properties", "Policies").([]any) {
					pol = unwrapIf(pol)
					name := dig(pol, "PolicyName").(string)
					if name != awsdeploy.DeliveryPolicy {
						policies[name] = dig(pol, "PolicyDocument", "Statement").([]any)
					}
				}
				grants, err := deploy.AWSGrants(u, nil)
				if err != nil {
					t.Fatal(err)
				}
				var want, got []string
				for _, g := range grants {
					want = append(want, g.Env)
				}
				for name := range policies {
					got = append(got, name)
				}
				slices.Sort(got)
				if d := cmp.Diff(want, got); d != "" {
					t.Errorf("unit %s: policies (-grants +role):\n%s", u.Name, d)
				}
				for _, g := range grants {
					sts := policies[g.Env]
					if len(sts) != len(g.Grants) {
						t.Errorf("unit %s, %s: %d statements, want %d", u.Name, g.Env, len(sts), len(g.Grants))
						continue
					}
					for i, w := range g.Grants {
						st := sts[i]
						if dig(st, "Effect") != w.Effect {
							t.Errorf("unit %s, %s: effect %v", u.Name, g.Env, dig(st, "Effect"))
						}
						var actions []string
						for _, a := range dig(st, "Action").([]any) {
							actions = append(actions, a.(string))
						}
						if d := cmp.Diff(w.Action, actions); d != "" {
							t.Errorf("unit %s, %s: actions (-grant +role):\n%s", u.Name, g.Env, d)
						}
						var patterns []string
						for _, res := range dig(st, "Resource").([]any) {
							s, vars, ok := subOf(res)
							if !ok {
								t.Errorf("unit %s, %s: resource %v is not an Fn::Sub", u.Name, g.Env, res)
								continue
							}
							patterns = append(patterns, s)
							for _, m := range placeholders.FindAllStringSubmatch(s, -1) {
								if !doc.refersTo(vars[m[1]]) {
									t.Errorf("unit %s, %s: %s = %v names nothing in the template", u.Name, g.Env, m[0], vars[m[1]])
								}
							}
						}
						if d := cmp.Diff(w.Resource, patterns); d != "" {
							t.Errorf("unit %s, %s: resources (-grant +role):\n%s", u.Name, g.Env, d)
						}
						for op, kv := range w.Condition {
							for k, v := range kv {
								if s, _, _ := subOf(dig(st, "Condition", op, k)); s != v {
									t.Errorf("unit %s, %s: condition %s %s = %q, want %q", u.Name, g.Env, op, k, s, v)
								}
							}
						}
					}
				}
			}
			// No statement anywhere writes or deletes a read-only bucket.
			for id, role := range doc.resources("AWS::IAM::Role") {
				pols, _ := dig(role, "Properties", "Policies").([]any)
				for _, pol := range pols {
					for _, st := range dig(unwrapIf(pol), "PolicyDocument", "Statement").([]any) {
						writes := slices.ContainsFunc(dig(st, "Action").([]any), func(a any) bool {
							return a == "s3:PutObject" || a == "s3:DeleteObject" || a == "s3:*"
						})
						if !writes {
							continue
						}
						for _, res := range dig(st, "Resource").([]any) {
							_, vars, _ := subOf(res)
							key, _ := yaml.Marshal(vars["Name"])
							if readOnly[string(key)] {
								t.Errorf("role %s writes the read-only bucket %s", id, key)
							}
						}
					}
				}
			}
			if strings.Contains(string(b), "S3CrudPolicy") {
				t.Error("the template uses S3CrudPolicy")
			}
		})
	}
}

// TestSAMTemplateUnits checks one function per unit, with the unit's
// sizing.
func TestSAMTemplateUnits(t *testing.T) {
	m := deploytest.KitchenSink().Manifest()
	b, _, err := awsTemplate("kitchen-sink", "amd64", []core.Manifest{m}, nil)
	if err != nil {
		t.Fatal(err)
	}
	doc := parseTemplate(t, b)
	p, err := deploy.NewPlan([]core.Manifest{m}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(doc.resources("AWS::Serverless::Function")); n != len(p.Units) {
		t.Errorf("%d functions for %d units", n, len(p.Units))
	}
	http := doc.unitFunction(t, "kitchen-sink")
	want := map[string]any{"MemorySize": uint64(512), "Timeout": uint64(15), "ReservedConcurrentExecutions": uint64(20),
		"AutoPublishAlias": "live", "Tracing": "Active"}
	for k, v := range want {
		if http[k] != v {
			t.Errorf("HTTP unit: %s = %v (%T), want %v", k, http[k], http[k], v)
		}
	}
	if got := dig(http, "ProvisionedConcurrencyConfig", "ProvisionedConcurrentExecutions"); got != uint64(2) {
		t.Errorf("provisioned concurrency %v, want 2", got)
	}
	ingest := doc.unitFunction(t, "kitchen-sink-ingest")
	if got := ingest["Architectures"].([]any)[0]; got != "arm64" || ingest["CodeUri"] != "../kitchen-sink-arm64.zip" {
		t.Errorf("ingest: %v from %v, want arm64 from its own zip", got, ingest["CodeUri"])
	}
	for id, ev := range dig(ingest, "Events").(map[string]any) {
		if dig(ev, "Type") != "S3" {
			t.Errorf("ingest: event %s is %v", id, dig(ev, "Type"))
		}
	}
	if ev := dig(http, "Events").(map[string]any); len(ev) != 5 {
		t.Errorf("HTTP unit: %d events, want its 5 routes", len(ev))
	}
	// The ordered queue is FIFO; the fan-out's is fed by its topic.
	queues := doc.resources("AWS::SQS::Queue")
	if dig(queues["KitchenSinkOrdersQueue"], "Properties", "FifoQueue") != true {
		t.Error("orders' queue is not FIFO")
	}
	if got := dig(queues["KitchenSinkFanOutQueue"], "Properties", "RedrivePolicy", "maxReceiveCount"); got != uint64(3) {
		t.Errorf("fan-out's maxReceiveCount %v, want 3", got)
	}
	sub := doc.resources("AWS::SNS::Subscription")["KitchenSinkFanOutSubscription"]
	if dig(sub, "Properties", "RawMessageDelivery") != true || dig(sub, "Properties", "Protocol") != "sqs" {
		t.Errorf("fan-out's subscription %v", sub)
	}
	if len(doc.resources("AWS::SQS::QueuePolicy")) != 1 {
		t.Error("want one queue policy, letting the topic send to fan-out's queue")
	}
	slack := doc.resources("AWS::Chatbot::SlackChannelConfiguration")
	if len(slack) != 1 {
		t.Fatalf("Slack channels %v", slack)
	}
	for _, s := range slack {
		if dig(s, "Properties", "SlackWorkspaceId") != "T0123ABCD" || dig(s, "Properties", "SlackChannelId") != "C0456EFGH" {
			t.Errorf("Slack channel %v", s)
		}
	}
}

func TestSAMTemplateRejects(t *testing.T) {
	both := core.NewApp("bad")
	both.On("both-days", core.TimerTrigger{Schedule: "0 3 1 * MON"}, core.HandlerFunc(nil))
	slow := core.NewApp("slow")
	slow.HandleFunc("GET /x", func(http.ResponseWriter, *http.Request) {})
	slow.Size(core.Sizing{Timeout: time.Minute})
	for _, tt := range []struct {
		m    core.Manifest
		want string
	}{
		{both.Manifest(), "unit bad-both-days"},
		{slow.Manifest(), "an HTTP API waits at most 30 s"},
	} {
		if _, _, err := awsTemplate("bad", "arm64", []core.Manifest{tt.m}, nil); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.m.App, err, tt.want)
		}
	}
}

func TestBootstrapZip(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	content := []byte("#!/bin/sh\necho hello\n")
	if err := os.WriteFile(bin, content, 0o600); err != nil {
		t.Fatal(err)
	}
	zipPath := filepath.Join(dir, "fn.zip")
	if err := writeBootstrapZip(zipPath, bin); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(first), int64(len(first)))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 || zr.File[0].Name != "bootstrap" {
		t.Fatalf("entries: got %v, want bootstrap alone at the root", zr.File)
	}
	f := zr.File[0]
	if f.Mode().Perm() != 0o755 || f.CreatorVersion>>8 != 3 { // 3: Unix, whose external attributes hold the mode
		t.Errorf("mode %v, creator %d; want 0755 made on Unix", f.Mode(), f.CreatorVersion>>8)
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, _ := io.ReadAll(rc); !bytes.Equal(got, content) {
		t.Errorf("content: got %q", got)
	}
	if err := writeBootstrapZip(zipPath, bin); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(zipPath); !bytes.Equal(again, first) {
		t.Error("the same bootstrap gave another zip")
	}
}
