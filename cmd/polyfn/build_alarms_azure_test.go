package main

import (
	"encoding/json"
	"net/http"
	"os"
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

// TestAzureAlarmOutputs parses what the packager writes for each of
// alarmCases and checks that every alarm names the function and carries
// the thresholds.
func TestAzureAlarmOutputs(t *testing.T) {
	for _, tt := range alarmCases() {
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

// TestAzureAlarmsOff checks that an app that turns alarms off gets none.
func TestAzureAlarmsOff(t *testing.T) {
	m := quietApp()
	if tmpl, err := azureAlertTemplate([]core.Manifest{m}); err != nil || tmpl != nil {
		t.Errorf("azure alerts: %v, %v; want none", tmpl, err)
	}
}

// TestAzureAlarmsRejectedAtBuild checks that thresholds the cloud cannot
// use fail the build with an error naming the app, never a panic.
func TestAzureAlarmsRejectedAtBuild(t *testing.T) {
	slow := withAlarms("slow", core.Alarms{P99: time.Minute})
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
