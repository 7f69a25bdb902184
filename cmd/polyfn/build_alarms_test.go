package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/functions/orders"
	"github.com/polyfn/polyfn/functions/thumbnails"
	"github.com/polyfn/polyfn/functions/users"
)

// TestAzureAlertsGolden checks the alert template of the example functions
// and the kitchen sink against testdata/azure/<app>.alerts.json; run with
// -update to rewrite them, and review the diff.
func TestAzureAlertsGolden(t *testing.T) {
	for _, m := range []core.Manifest{users.New().Manifest(), thumbnails.New().Manifest(), orders.New().Manifest(), azureKitchenSink()} {
		t.Run(m.App, func(t *testing.T) {
			tmpl, err := azureAlertTemplate([]core.Manifest{m})
			if err != nil {
				t.Fatal(err)
			}
			got := t.TempDir()
			name := azureAlertsFile(m.App)
			if err := writeAzureFiles(got, map[string]any{name: tmpl}); err != nil {
				t.Fatal(err)
			}
			if *update {
				if err := writeAzureFiles(filepath.Join("testdata", "azure"), map[string]any{name: tmpl}); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(filepath.Join("testdata", "azure", name))
			if err != nil {
				t.Fatalf("%v (run go test -run TestAzureAlertsGolden -update to write it)", err)
			}
			have, _ := os.ReadFile(filepath.Join(got, name))
			if diff := cmp.Diff(string(want), string(have)); diff != "" {
				t.Errorf("alerts (-golden +generated):\n%s", diff)
			}
		})
	}
}

// wantAlarms are the thresholds each cloud's output must carry.
type wantAlarms struct {
	errors, throttles int
	p99               time.Duration
	period            time.Duration
}

// TestAlarmOutputs parses what each packager writes for the users function
// (declared thresholds) and thumbnails (defaults, from each cloud's
// timeout) and checks that every alarm names the function and carries the
// thresholds.
func TestAlarmOutputs(t *testing.T) {
	tests := []struct {
		m                    core.Manifest
		aws, gcp, azure      wantAlarms
		deployment, awsHTTP  string
		azureHTTP, hasRoutes bool
	}{
		{m: users.New().Manifest(), deployment: "users", hasRoutes: true,
			aws:   wantAlarms{5, 1, 2 * time.Second, 5 * time.Minute},
			gcp:   wantAlarms{5, 1, 2 * time.Second, 5 * time.Minute},
			azure: wantAlarms{5, 1, 2 * time.Second, 5 * time.Minute}},
		{m: thumbnails.New().Manifest(), deployment: "make-thumbnail",
			aws:   wantAlarms{1, 1, 24 * time.Second, 5 * time.Minute},
			gcp:   wantAlarms{1, 1, 48 * time.Second, 5 * time.Minute},
			azure: wantAlarms{1, 1, 4 * time.Minute, 5 * time.Minute}},
	}
	for _, tt := range tests {
		t.Run(tt.m.App+"/aws", func(t *testing.T) {
			b, err := samTemplate(tt.m.App, "arm64", tt.m)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := parseYAMLBlocks(string(b))
			if err != nil {
				t.Fatalf("template is not well-formed: %v", err)
			}
			param := dig(doc, "Parameters", awsAlarmTopicParam).(map[string]any)
			if param["Default"] != `""` {
				t.Errorf("%s: %v, want an optional parameter", awsAlarmTopicParam, param)
			}
			if dig(doc, "Conditions", awsAlarmTopicCondition) == nil {
				t.Errorf("no %s condition", awsAlarmTopicCondition)
			}
			want := map[string]string{ // logical id → threshold
				"ErrorsAlarm":    fmt.Sprint(tt.aws.errors),
				"ThrottlesAlarm": fmt.Sprint(tt.aws.throttles),
				"DurationAlarm":  fmt.Sprint(tt.aws.p99.Milliseconds()),
			}
			if tt.hasRoutes {
				want["HttpErrorsAlarm"] = fmt.Sprint(tt.aws.errors)
			}
			got := map[string]string{}
			for id, r := range dig(doc, "Resources").(map[string]any) {
				r := r.(map[string]any)
				if r["Type"] != "AWS::CloudWatch::Alarm" {
					continue
				}
				p := r["Properties"].(map[string]any)
				got[id] = p["Threshold"].(string)
				dim := p["Dimensions"].([]any)[0].(map[string]any)
				if dim["Value"] != "!Ref Function" && dim["Value"] != "!Ref ServerlessHttpApi" {
					t.Errorf("%s: dimension %v does not name the function or its API", id, dim)
				}
				if d := p["AlarmDescription"].(string); !strings.Contains(d, "polyfn "+tt.m.App+":") {
					t.Errorf("%s: description %s does not name the app", id, d)
				}
				if p["Period"] != fmt.Sprint(int(tt.aws.period.Seconds())) || p["TreatMissingData"] != "notBreaching" {
					t.Errorf("%s: period %v, missing data %v", id, p["Period"], p["TreatMissingData"])
				}
				if !strings.Contains(p["AlarmActions"].(string), "!Ref "+awsAlarmTopicParam) {
					t.Errorf("%s: actions %v", id, p["AlarmActions"])
				}
				if id == "DurationAlarm" && p["ExtendedStatistic"] != "p99" {
					t.Errorf("DurationAlarm: %v, want ExtendedStatistic p99", p)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("alarm thresholds (-want +got):\n%s", diff)
			}
		})
		t.Run(tt.m.App+"/gcp", func(t *testing.T) {
			plan, err := planGCP([]core.Manifest{tt.m})
			if err != nil {
				t.Fatal(err)
			}
			files, err := plan.alertFiles()
			if err != nil {
				t.Fatal(err)
			}
			b, ok := files["alerts/"+tt.deployment+".json"]
			if !ok || len(files) != 1 {
				t.Fatalf("alert files %v, want alerts/%s.json", keys(files), tt.deployment)
			}
			var policy struct {
				DisplayName string
				Combiner    string
				Conditions  []struct {
					DisplayName        string
					ConditionThreshold struct {
						Filter         string
						Comparison     string
						ThresholdValue float64
						Aggregations   []struct{ AlignmentPeriod, PerSeriesAligner string }
					}
				}
			}
			if err := json.Unmarshal(b, &policy); err != nil {
				t.Fatalf("alerts/%s.json: %v", tt.deployment, err)
			}
			if !strings.Contains(policy.DisplayName, tt.m.App) || policy.Combiner != "OR" || len(policy.Conditions) != 3 {
				t.Fatalf("policy %+v", policy)
			}
			want := []float64{float64(tt.gcp.errors - 1), float64(tt.gcp.throttles - 1), float64(tt.gcp.p99.Milliseconds())}
			for i, c := range policy.Conditions {
				ct := c.ConditionThreshold
				if !strings.Contains(ct.Filter, fmt.Sprintf(`resource.labels.service_name = %q`, tt.deployment)) {
					t.Errorf("condition %q: filter %s does not name the service", c.DisplayName, ct.Filter)
				}
				if ct.ThresholdValue != want[i] || ct.Comparison != "COMPARISON_GT" {
					t.Errorf("condition %q: %s %v, want COMPARISON_GT %v", c.DisplayName, ct.Comparison, ct.ThresholdValue, want[i])
				}
				if ct.Aggregations[0].AlignmentPeriod != fmt.Sprintf("%ds", int(tt.gcp.period.Seconds())) {
					t.Errorf("condition %q: alignment period %s", c.DisplayName, ct.Aggregations[0].AlignmentPeriod)
				}
			}
			if policy.Conditions[2].ConditionThreshold.Aggregations[0].PerSeriesAligner != "ALIGN_PERCENTILE_99" {
				t.Errorf("latency condition aligns with %s", policy.Conditions[2].ConditionThreshold.Aggregations[0].PerSeriesAligner)
			}
		})
		t.Run(tt.m.App+"/azure", func(t *testing.T) {
			tmpl, err := azureAlertTemplate([]core.Manifest{tt.m})
			if err != nil {
				t.Fatal(err)
			}
			b, err := json.Marshal(tmpl)
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				Parameters map[string]struct{ DefaultValue *string }
				Resources  []struct {
					Type, Name, Condition string
					Properties            struct {
						Description string
						Scopes      []string
						WindowSize  string
						Criteria    struct {
							AllOf []struct {
								MetricName string
								Query      string
								Threshold  int64
							}
						}
					}
				}
			}
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			if p, ok := doc.Parameters[azureFunctionAppParam]; !ok || p.DefaultValue != nil {
				t.Errorf("parameters %v: want a required %s", doc.Parameters, azureFunctionAppParam)
			}
			want := map[string]int64{"errors": int64(tt.azure.errors), "p99-duration": tt.azure.p99.Milliseconds()}
			if tt.hasRoutes {
				want["http-errors"] = int64(tt.azure.errors)
			}
			got := map[string]int64{}
			for _, r := range doc.Resources {
				suffix := strings.TrimSuffix(strings.TrimPrefix(r.Name, "[format('{0}-"), "', variables('appName'))]")
				got[suffix] = r.Properties.Criteria.AllOf[0].Threshold
				if !strings.Contains(r.Properties.Description, "polyfn "+tt.m.App+":") {
					t.Errorf("%s: description %q does not name the app", r.Name, r.Properties.Description)
				}
				if r.Properties.WindowSize != azureISODuration(tt.azure.period) {
					t.Errorf("%s: window %s", r.Name, r.Properties.WindowSize)
				}
				if q := r.Properties.Criteria.AllOf[0].Query; q != "" && !strings.Contains(q, "percentile(duration, 99)") {
					t.Errorf("%s: query %s", r.Name, q)
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("alert thresholds by rule (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAlarmsOff checks that an app that turns alarms off gets none on any
// cloud.
func TestAlarmsOff(t *testing.T) {
	app := core.NewApp("quiet")
	app.HandleFunc("GET /x", func(http.ResponseWriter, *http.Request) {})
	app.Alarms(core.Alarms{Off: true})
	m := app.Manifest()

	b, err := samTemplate("quiet", "arm64", m)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"AWS::CloudWatch::Alarm", awsAlarmTopicParam, "Conditions:"} {
		if strings.Contains(string(b), s) {
			t.Errorf("template has %s", s)
		}
	}
	plan, err := planGCP([]core.Manifest{m})
	if err != nil {
		t.Fatal(err)
	}
	bundle := gcpBundle{Name: "quiet", Pkg: "./cmd/quiet", Module: bundleModulePrefix + "quiet", Host: goldenHost, Plan: plan,
		Call: launchCall{Args: []string{"quiet.New()"}, Imports: []goImport{{"quiet", "example.com/quiet"}}}}
	files, err := bundle.files()
	if err != nil {
		t.Fatal(err)
	}
	for name := range files {
		if strings.HasPrefix(name, "alerts/") {
			t.Errorf("bundle has %s", name)
		}
	}
	if strings.Contains(string(files["DEPLOY.md"]), "## Alerts") {
		t.Error("DEPLOY.md has an Alerts section")
	}
	if tmpl, err := azureAlertTemplate([]core.Manifest{m}); err != nil || tmpl != nil {
		t.Errorf("azure alerts: %v, %v; want none", tmpl, err)
	}
}

// TestAlarmsRejectedAtBuild checks that thresholds a cloud cannot use fail
// the build with an error naming the app, never a panic.
func TestAlarmsRejectedAtBuild(t *testing.T) {
	withAlarms := func(name string, a core.Alarms) core.Manifest {
		app := core.NewApp(name)
		app.HandleFunc("GET /x", func(http.ResponseWriter, *http.Request) {})
		app.Alarms(a)
		return app.Manifest()
	}
	slow := withAlarms("slow", core.Alarms{P99: time.Minute})
	if _, err := samTemplate("slow", "arm64", slow); err == nil || !strings.Contains(err.Error(), "app slow") || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("aws: %v, want an error: the p99 threshold is past Lambda's 30 s", err)
	}
	if _, err := planGCP([]core.Manifest{slow}); err == nil || !strings.Contains(err.Error(), "app slow") {
		t.Errorf("gcp: %v, want an error: the p99 threshold is past the 60 s timeout", err)
	}
	if _, err := azureAlertTemplate([]core.Manifest{slow}); err != nil {
		t.Errorf("azure: %v; a minute is below its 5 min timeout", err)
	}
	a, b := withAlarms("a", core.Alarms{Errors: 2}), withAlarms("b", core.Alarms{Errors: 3})
	if _, err := azureAlertTemplate([]core.Manifest{a, b}); err == nil || !strings.Contains(err.Error(), "different alarms") {
		t.Errorf("azure, two apps: %v, want an error", err)
	}
	plain := core.NewApp("plain")
	plain.HandleFunc("GET /y", func(http.ResponseWriter, *http.Request) {})
	tmpl, err := azureAlertTemplate([]core.Manifest{plain.Manifest(), a})
	if err != nil {
		t.Fatal(err)
	}
	if got := tmpl.Resources[0].Properties.(azureMetricAlert).Criteria.AllOf[0].Threshold; got != 2 {
		t.Errorf("azure, a declaring app beside an undeclared one: threshold %d, want the declared 2", got)
	}
}

// TestSAMTemplateLint runs cfn-lint, where it is installed, on the golden
// templates: it checks every resource's properties against CloudFormation's
// resource specification.
func TestSAMTemplateLint(t *testing.T) {
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		// The machine image CI runs on has it (pip); elsewhere it is optional.
		if os.Getenv("CI") == "true" {
			t.Fatal("cfn-lint is not installed (pip install cfn-lint)")
		}
		t.Skip("cfn-lint is not installed (pip install cfn-lint)")
	}
	golden, _ := filepath.Glob(filepath.Join("testdata", "aws", "*.template.yaml"))
	out, err := exec.Command(lint, golden...).CombinedOutput()
	if err != nil {
		t.Errorf("cfn-lint %v: %v\n%s", golden, err, out)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// dig follows keys through nested maps; nil when one is missing.
func dig(v any, path ...string) any {
	for _, k := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// parseYAMLBlocks parses the block structure of the YAML that samTemplate
// writes: mappings ("key: value", "key:" with a deeper block, "key: !Tag"
// with a deeper block) and sequences ("- item"), indented by spaces. Scalars
// and flow collections are kept as their source text. It fails on what
// would not parse as YAML: a line indented deeper than its block, a
// mapping line without a key, a duplicate key.
func parseYAMLBlocks(src string) (map[string]any, error) {
	type line struct {
		n, indent int
		text      string
	}
	var lines []line
	for i, l := range strings.Split(src, "\n") {
		trimmed := strings.TrimLeft(l, " ")
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasPrefix(trimmed, "\t") {
			return nil, fmt.Errorf("line %d: a tab in the indentation", i+1)
		}
		lines = append(lines, line{i + 1, len(l) - len(trimmed), trimmed})
	}
	var block func(i, indent int) (any, int, error)
	block = func(i, indent int) (any, int, error) {
		if strings.HasPrefix(lines[i].text, "- ") {
			var seq []any
			for i < len(lines) && lines[i].indent == indent && strings.HasPrefix(lines[i].text, "- ") {
				rest := lines[i].text[2:]
				if k, _, ok := strings.Cut(rest, ":"); ok && !strings.ContainsAny(k, ` "[!`) {
					// "- key: value": a mapping whose first line follows the dash.
					lines[i] = line{lines[i].n, indent + 2, rest}
					v, next, err := block(i, indent+2)
					if err != nil {
						return nil, 0, err
					}
					seq, i = append(seq, v), next
					continue
				}
				seq, i = append(seq, rest), i+1
			}
			return seq, i, nil
		}
		m := map[string]any{}
		for i < len(lines) && lines[i].indent == indent {
			l := lines[i]
			key, value, ok := strings.Cut(l.text, ":")
			if !ok || key == "" || strings.ContainsAny(key, " \"") || (value != "" && value[0] != ' ') {
				return nil, 0, fmt.Errorf("line %d: %q is not a mapping entry", l.n, l.text)
			}
			if _, dup := m[key]; dup {
				return nil, 0, fmt.Errorf("line %d: duplicate key %s", l.n, key)
			}
			value = strings.TrimSpace(value)
			i++
			if i < len(lines) && lines[i].indent > indent {
				if value != "" && !strings.HasPrefix(value, "!") {
					return nil, 0, fmt.Errorf("line %d: a block under the scalar %q", lines[i].n, value)
				}
				v, next, err := block(i, lines[i].indent)
				if err != nil {
					return nil, 0, err
				}
				m[key], i = v, next
				continue
			}
			m[key] = value
		}
		if i < len(lines) && lines[i].indent > indent {
			return nil, 0, fmt.Errorf("line %d: unexpected indentation", lines[i].n)
		}
		return m, i, nil
	}
	v, i, err := block(0, 0)
	if err != nil {
		return nil, err
	}
	if i != len(lines) {
		return nil, fmt.Errorf("line %d: unexpected indentation", lines[i].n)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("the document is not a mapping")
	}
	return m, nil
}
