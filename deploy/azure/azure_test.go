package azure_test

import (
	"context"
	"encoding/json"
	"flag"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/polyfn/polyfn/adapters/azurefunctions"
	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
	"github.com/polyfn/polyfn/deploy/azure"
	"github.com/polyfn/polyfn/deploy/deploytest"
	"github.com/polyfn/polyfn/functions/orders"
	"github.com/polyfn/polyfn/functions/thumbnails"
	"github.com/polyfn/polyfn/functions/users"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// example is an app rendered by the tests, with the grant options of its
// deployment.
type example struct {
	name   string
	m      core.Manifest
	grants *deploy.GrantOptions
}

// examples are the example functions, the kitchen sink with Azure's
// default schemes, and the kitchen sink with its queue trigger on a
// Storage queue.
func examples() []example {
	ks := deploytest.KitchenSink().Manifest()
	return []example{
		{"users", users.New().Manifest(), nil},
		{"thumbnails", thumbnails.New().Manifest(), nil},
		{"orders", orders.New().Manifest(), nil},
		{deploytest.KitchenSinkName, ks, nil},
		{"kitchen-sink-queues", ks, &deploy.GrantOptions{Schemes: map[string]string{"ORDERS_QUEUE_URL": deploy.AzureQueueScheme}}},
		{"clicks", clicks().Manifest(), nil},
	}
}

// clicks is an app of two stream functions reading one event hub, one
// under its own consumer group, and an HTTP route.
func clicks() *core.App {
	app := core.NewApp("clicks")
	nop := core.HandlerFunc(func(context.Context, core.Event) error { return nil })
	app.HandleFunc("GET /clicks", func(http.ResponseWriter, *http.Request) {})
	app.On("count-clicks", core.StreamTrigger{Stream: "CLICKS_STREAM_URL", StartingPosition: core.StartEarliest, BatchSize: 50}, nop)
	app.On("archive-clicks", core.StreamTrigger{Stream: "CLICKS_STREAM_URL", StartingPosition: core.StartEarliest, BatchSize: 50,
		ConsumerGroup: "archiver"}, nop)
	return app
}

func render(t *testing.T, e example) (*deploy.Plan, *azure.FunctionApp) {
	t.Helper()
	p, err := deploy.NewPlan([]core.Manifest{e.m}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := azure.Render(p, &azure.Options{Name: e.name, FunctionNames: azurefunctions.FunctionNames, Grants: e.grants})
	if err != nil {
		t.Fatal(err)
	}
	return p, a
}

// encode writes v as the build writes it: indented JSON and a newline.
func encode(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b) + "\n"
}

// TestGolden checks every artifact of each example against
// testdata/<example>/: the ARM template, host.json, each function.json,
// and the notes; run with -update to rewrite them, and review the diff.
func TestGolden(t *testing.T) {
	for _, e := range examples() {
		t.Run(e.name, func(t *testing.T) {
			_, a := render(t, e)
			got := map[string]string{"template.json": encode(t, a.Template), "notes.json": encode(t, a.Notes)}
			for p, v := range a.Files() {
				got[p] = encode(t, v)
			}
			dir := filepath.Join("testdata", e.name)
			if *update {
				if err := os.RemoveAll(dir); err != nil {
					t.Fatal(err)
				}
				for p, s := range got {
					p = filepath.Join(dir, filepath.FromSlash(p))
					if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			want := map[string]string{}
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				b, err := os.ReadFile(p)
				rel, _ := filepath.Rel(dir, p)
				want[filepath.ToSlash(rel)] = string(b)
				return err
			})
			if err != nil {
				t.Fatalf("%v (run with -update to write the golden files)", err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("artifacts (-golden +rendered); run go test ./deploy/azure -update and review:\n%s", diff)
			}
		})
	}
}

// parsed is a template read back from its JSON.
type parsed struct {
	Parameters map[string]struct {
		Type         string
		DefaultValue any
	}
	Variables map[string]string
	Resources []struct {
		Condition, Type, APIVersion, Name, Scope string
		DependsOn                                []string
		Properties                               map[string]any
	}
}

func parse(t *testing.T, a *azure.FunctionApp) (parsed, string) {
	t.Helper()
	s := encode(t, a.Template)
	var p parsed
	if err := json.Unmarshal([]byte(s), &p); err != nil {
		t.Fatal(err)
	}
	return p, s
}

// callArgs splits an ARM function call "fn(a, b(c, d), 'e, f')" into fn
// and its arguments, as written.
func callArgs(t *testing.T, e string) (string, []string) {
	t.Helper()
	open := strings.IndexByte(e, '(')
	if open < 0 || !strings.HasSuffix(e, ")") {
		return e, nil
	}
	var args []string
	depth, quoted, start := 0, false, open+1
	body := e[:len(e)-1]
	for i := open + 1; i < len(body); i++ {
		switch c := body[i]; {
		case c == '\'':
			quoted = !quoted // a doubled quote toggles twice
		case quoted:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == ',' && depth == 0:
			args = append(args, strings.TrimSpace(body[start:i]))
			start = i + 1
		}
	}
	return e[:open], append(args, strings.TrimSpace(body[start:]))
}

// idOf is the resourceId expression of a resource from its type and name.
func idOf(t *testing.T, typ, name string) string {
	t.Helper()
	var segs []string
	if e, ok := strings.CutPrefix(name, "["); ok {
		e = strings.TrimSuffix(e, "]")
		fn, args := callArgs(t, e)
		if fn == "format" && args[0] == "'"+placeholders(len(args)-1)+"'" {
			segs = args[1:]
		} else {
			segs = []string{e}
		}
	} else {
		for _, s := range strings.Split(name, "/") {
			segs = append(segs, "'"+s+"'")
		}
	}
	return "[resourceId('" + typ + "', " + strings.Join(segs, ", ") + ")]"
}

// placeholders is name's format of a child resource's segments: {0}/{1}/….
func placeholders(n int) string {
	ph := make([]string, n)
	for i := range ph {
		ph[i] = "{" + string(rune('0'+i)) + "}"
	}
	return strings.Join(ph, "/")
}

var guid = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// TestTemplateStructure parses each template back and checks it as ARM
// would: every resource's type and API version exist (testdata's table,
// from the template reference), every built-in role definition is a GUID
// of the grants table or of the host's roles, every custom one is defined
// in the template, every dependsOn names a resource of the template, and
// every parameter and variable used is declared (and every declared one
// used).
func TestTemplateStructure(t *testing.T) {
	var table struct {
		Types map[string]struct{ APIVersions []string }
	}
	b, err := os.ReadFile("testdata/resource-types.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &table); err != nil {
		t.Fatal(err)
	}
	known := knownRoleIDs(t)
	for _, e := range examples() {
		t.Run(e.name, func(t *testing.T) {
			_, a := render(t, e)
			tmpl, text := parse(t, a)
			ids := map[string]bool{}
			for _, r := range tmpl.Resources {
				tt, ok := table.Types[r.Type]
				if !ok || !slices.Contains(tt.APIVersions, r.APIVersion) {
					t.Errorf("resource %s: type %s@%s is not in testdata/resource-types.json", r.Name, r.Type, r.APIVersion)
				}
				ids[idOf(t, r.Type, r.Name)] = true
			}
			for _, r := range tmpl.Resources {
				for _, d := range r.DependsOn {
					if !ids[d] {
						t.Errorf("resource %s depends on %s, which the template does not declare", r.Name, d)
					}
				}
				if r.Type != "Microsoft.Authorization/roleAssignments" {
					continue
				}
				def, _ := r.Properties["roleDefinitionId"].(string)
				fn, args := callArgs(t, strings.TrimSuffix(strings.TrimPrefix(def, "["), "]"))
				switch fn {
				case "subscriptionResourceId":
					id := strings.Trim(args[1], "'")
					if !guid.MatchString(id) || !known[id] {
						t.Errorf("%s: role definition %s is not a GUID of the grants table", r.Name, id)
					}
				case "resourceId":
					if !ids["["+def[1:]] {
						t.Errorf("%s: custom role %s is not defined in the template", r.Name, def)
					}
				default:
					t.Errorf("%s: role definition %s", r.Name, def)
				}
				if r.Scope == "" {
					t.Errorf("%s: a role assignment without a scope would be on the resource group", r.Name)
				}
			}
			for kind, declared := range map[string]func(string) bool{
				"parameters": func(n string) bool { _, ok := tmpl.Parameters[n]; return ok },
				"variables":  func(n string) bool { _, ok := tmpl.Variables[n]; return ok },
			} {
				used := map[string]bool{}
				for _, m := range regexp.MustCompile(kind+`\('([^']+)'\)`).FindAllStringSubmatch(text, -1) {
					used[m[1]] = true
					if !declared(m[1]) {
						t.Errorf("%s('%s') is used but not declared", kind, m[1])
					}
				}
				names := slices.Collect(func(yield func(string) bool) {
					for n := range tmpl.Parameters {
						if kind == "parameters" && !yield(n) {
							return
						}
					}
					for n := range tmpl.Variables {
						if kind == "variables" && !yield(n) {
							return
						}
					}
				})
				for _, n := range names {
					if !used[n] {
						t.Errorf("%s %s is declared but never used", kind, n)
					}
				}
			}
		})
	}
}

// knownRoleIDs are the role definition GUIDs of the grants table, read
// through deploy.AzureGrants for the kitchen sink's units (every use of
// every kind, with both subscription schemes), and of the host's roles.
func knownRoleIDs(t *testing.T) map[string]bool {
	t.Helper()
	ids := map[string]bool{
		"2a2b9908-6ea1-4ae2-8e65-a410df84e7d1": true, // Storage Blob Data Reader (host: blob trigger)
		"c6a89b2d-59bc-44d0-9896-0f6e12d7b80a": true, // Storage Queue Data Message Sender (host: poison queue)
		"974c5e8b-45b9-4653-ba55-5f855dd0fb88": true, // Storage Queue Data Contributor (host: the blob trigger's poison queue)
	}
	for _, e := range examples() {
		p, err := deploy.NewPlan([]core.Manifest{e.m}, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, u := range p.Units {
			gs, err := deploy.AzureGrants(u, e.grants)
			if err != nil {
				t.Fatal(err)
			}
			for _, g := range gs {
				for _, r := range g.Grants {
					if r.ID != "" {
						ids[r.ID] = true
					}
				}
			}
		}
	}
	return ids
}

// appSettings returns the function app's settings by name.
func appSettings(t *testing.T, tmpl parsed) map[string]string {
	t.Helper()
	for _, r := range tmpl.Resources {
		if r.Type != "Microsoft.Web/sites" {
			continue
		}
		out := map[string]string{}
		sc, _ := r.Properties["siteConfig"].(map[string]any)
		list, _ := sc["appSettings"].([]any)
		for _, s := range list {
			m := s.(map[string]any)
			out[m["name"].(string)] = m["value"].(string)
		}
		return out
	}
	t.Fatal("the template has no Microsoft.Web/sites")
	return nil
}

// grantKey is one role on one variable's resource, as the tests compare
// them.
type grantKey struct{ Env, Role string }

// TestSettingsAndGrants checks, for every resource variable of every unit,
// that the function app's settings set it, and that the identity's role
// assignments in the template (read back from their descriptions, and the
// MongoDB roles from their definitions) are exactly deploy.AzureGrants for
// the units, beside the host's documented trigger roles.
func TestSettingsAndGrants(t *testing.T) {
	for _, e := range examples() {
		t.Run(e.name, func(t *testing.T) {
			p, a := render(t, e)
			tmpl, _ := parse(t, a)
			settings := appSettings(t, tmpl)
			want := map[grantKey][]string{}
			optional := map[string]bool{}
			for _, u := range p.Units {
				for _, r := range u.Resources {
					optional[r.Env] = r.Optional && !r.Trigger
					if v, ok := settings[r.Env]; !ok || v == "" {
						t.Errorf("unit %s: %s is not set in the function app's settings", u.Name, r.Env)
					}
				}
				gs, err := deploy.AzureGrants(u, e.grants)
				if err != nil {
					t.Fatal(err)
				}
				for _, g := range gs {
					for _, role := range g.Grants {
						k := grantKey{g.Env, role.Name}
						want[k] = append(want[k], u.Name)
					}
				}
			}
			got := map[grantKey][]string{}
			hostRoles := map[string]bool{"Storage Blob Data Reader": true, "Storage Queue Data Message Sender": true, "Storage Queue Data Contributor": true}
			for _, r := range tmpl.Resources {
				switch r.Type {
				case "Microsoft.Authorization/roleAssignments":
					d, _ := r.Properties["description"].(string)
					rest, ok := strings.CutPrefix(d, "polyfn: ")
					env, rest, ok2 := strings.Cut(rest, ": ")
					role, who, ok3 := strings.Cut(rest, " for ")
					if !ok || !ok2 || !ok3 {
						t.Fatalf("role assignment %s: description %q", r.Name, d)
					}
					if h, isHost := strings.CutPrefix(who, "the Functions host: "); isHost {
						if !hostRoles[role] || h == "" {
							t.Errorf("role assignment %s: %s is no host role of a trigger", r.Name, role)
						}
						continue
					}
					got[grantKey{env, role}] = strings.Split(who, ", ")
					if optional[env] != (r.Condition != "") {
						t.Errorf("role assignment %s on %s: condition %q; an optional resource's, and only its, is granted when named", r.Name, env, r.Condition)
					}
				case "Microsoft.DocumentDB/databaseAccounts/mongodbRoleDefinitions":
					role := r.Properties["roleName"].(string)
					base, _, _ := strings.Cut(role, "_")
					env := collectionOf(t, p, role)
					// Every unit is given every collection the app Requires.
					for _, u := range p.Units {
						if slices.ContainsFunc(u.Resources, func(x deploy.Resource) bool { return x.Env == env }) {
							got[grantKey{env, base}] = append(got[grantKey{env, base}], u.Name)
						}
					}
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("roles by variable (-deploy.AzureGrants +template):\n%s", diff)
			}
			var fromApp []grantKey
			for _, as := range a.Assignments {
				if as.Host == "" {
					fromApp = append(fromApp, grantKey{as.Env, as.Role.Name})
				}
			}
			wantKeys := slices.Collect(func(yield func(grantKey) bool) {
				for k := range want {
					if !yield(k) {
						return
					}
				}
			})
			less := func(a, b grantKey) int { return strings.Compare(a.Env+a.Role, b.Env+b.Role) }
			slices.SortFunc(fromApp, less)
			slices.SortFunc(wantKeys, less)
			if diff := cmp.Diff(wantKeys, fromApp); diff != "" {
				t.Errorf("FunctionApp.Assignments (-want +got):\n%s", diff)
			}
		})
	}
}

// collectionOf finds the collection variable a MongoDB role is named for.
func collectionOf(t *testing.T, p *deploy.Plan, role string) string {
	t.Helper()
	_, suffix, _ := strings.Cut(role, "_")
	for _, u := range p.Units {
		for _, r := range u.Resources {
			if r.Kind == core.KindCollection && strings.HasPrefix(strings.ToLower(r.Env), suffix+"_") {
				return r.Env
			}
		}
	}
	t.Fatalf("MongoDB role %s names no collection of the plan", role)
	return ""
}

// TestReadOnlyBucket checks that a bucket every unit only reads gets no
// role anywhere in the template that writes or deletes its blobs: of the
// blob roles, only Storage Blob Data Reader.
func TestReadOnlyBucket(t *testing.T) {
	for _, e := range examples() {
		t.Run(e.name, func(t *testing.T) {
			p, a := render(t, e)
			readOnly := map[string]bool{}
			for _, u := range p.Units {
				for _, r := range u.Resources {
					if r.Kind != core.KindBucket {
						continue
					}
					if v, seen := readOnly[r.Env]; !seen || v {
						readOnly[r.Env] = r.Use == core.Read || (r.Use == "" && r.Trigger)
					}
				}
			}
			tmpl, _ := parse(t, a)
			checked := 0
			for _, r := range tmpl.Resources {
				d, _ := r.Properties["description"].(string)
				for env, ro := range readOnly {
					if ro && strings.HasPrefix(d, "polyfn: "+env+": ") {
						checked++
						role, _, _ := strings.Cut(strings.TrimPrefix(d, "polyfn: "+env+": "), " for ")
						if strings.Contains(role, "Blob") && role != "Storage Blob Data Reader" {
							t.Errorf("read-only bucket %s: %s", env, d)
						}
					}
				}
			}
			if e.name == deploytest.KitchenSinkName && checked == 0 {
				t.Error("the kitchen sink's read-only ARCHIVE_BUCKET_URL got no role at all")
			}
		})
	}
}

// TestServiceBusEntities checks that each Service Bus trigger's queue or
// subscription has the plan's delivery limit, dead-letters and forwards
// its dead letters to the plan's dead letter queue, which exists.
func TestServiceBusEntities(t *testing.T) {
	for _, e := range examples() {
		t.Run(e.name, func(t *testing.T) {
			p, a := render(t, e)
			tmpl, _ := parse(t, a)
			queues := map[string]bool{}
			entities := map[string]map[string]any{}
			for _, r := range tmpl.Resources {
				if !strings.HasPrefix(r.Type, "Microsoft.ServiceBus/") {
					continue
				}
				_, args := callArgs(t, strings.Trim(r.Name, "[]"))
				last := strings.Trim(args[len(args)-1], "'")
				if r.Type == "Microsoft.ServiceBus/namespaces/queues" {
					queues[last] = true
				}
				entities[last] = r.Properties
			}
			for _, u := range p.Units {
				if u.Queue == nil || (e.grants != nil && e.grants.Schemes[u.Queue.Subscription] == deploy.AzureQueueScheme) {
					continue
				}
				name := u.Name
				if u.Queue.Topic == "" {
					name = strings.ToLower(strings.TrimSuffix(strings.TrimSuffix(u.Queue.Subscription, "_URL"), "_QUEUE"))
				}
				props, ok := entities[name]
				if !ok {
					t.Errorf("unit %s: no Service Bus entity %s (have %v)", u.Name, name, entities)
					continue
				}
				if got := props["maxDeliveryCount"]; got != float64(u.Queue.MaxDeliveries) {
					t.Errorf("unit %s: maxDeliveryCount %v, want %d", u.Name, got, u.Queue.MaxDeliveries)
				}
				if props["forwardDeadLetteredMessagesTo"] != u.Queue.DeadLetter || !queues[u.Queue.DeadLetter] {
					t.Errorf("unit %s: dead letters go to %v, want the queue %s", u.Name, props["forwardDeadLetteredMessagesTo"], u.Queue.DeadLetter)
				}
				if props["requiresSession"] != u.Queue.Ordered {
					t.Errorf("unit %s: requiresSession %v, want %v", u.Name, props["requiresSession"], u.Queue.Ordered)
				}
			}
		})
	}
}

// TestAlerts checks that every unit with alarms gets an error-rate and a
// p99 alert with its thresholds over its own functions, notifying the
// email channels, and that a Slack channel is reported, not created.
func TestAlerts(t *testing.T) {
	for _, e := range examples() {
		t.Run(e.name, func(t *testing.T) {
			p, a := render(t, e)
			tmpl, _ := parse(t, a)
			rules := map[string]map[string]any{}
			groups := 0
			for _, r := range tmpl.Resources {
				switch r.Type {
				case "Microsoft.Insights/scheduledQueryRules":
					rules[r.Properties["displayName"].(string)] = r.Properties
				case "Microsoft.Insights/actionGroups":
					groups++
					if strings.Contains(encode(t, r.Properties), "slack") {
						t.Errorf("action group %s: a Slack receiver", r.Name)
					}
				}
			}
			emails := 0
			for _, c := range p.Channels {
				if c.Slack != nil {
					if !slices.ContainsFunc(a.Notes, func(n string) bool { return strings.Contains(n, c.Name) && strings.Contains(n, "not created on Azure") }) {
						t.Errorf("Slack channel %s: no note says it is not created", c.Name)
					}
					continue
				}
				emails++
			}
			if groups != emails {
				t.Errorf("%d action groups, want one per email channel (%d)", groups, emails)
			}
			for _, u := range p.Units {
				if u.Alarms == nil {
					continue
				}
				for suffix, want := range map[string]float64{"error-rate": 1, "p99-duration": float64(u.Alarms.P99Millis)} {
					r, ok := rules["polyfn "+u.Name+": "+suffix]
					if !ok {
						t.Errorf("unit %s: no %s alert", u.Name, suffix)
						continue
					}
					c := r["criteria"].(map[string]any)["allOf"].([]any)[0].(map[string]any)
					if c["threshold"] != want {
						t.Errorf("unit %s, %s: threshold %v, want %v", u.Name, suffix, c["threshold"], want)
					}
					q := c["query"].(string)
					if suffix == "error-rate" && !strings.Contains(q, "failed >= ") {
						t.Errorf("unit %s: query %s", u.Name, q)
					}
					if u.Kind == deploy.EventUnit && !strings.Contains(q, `"`+u.Function+`"`) {
						t.Errorf("unit %s: query %s is not over its function", u.Name, q)
					}
					if n := len(r["actions"].(map[string]any)["actionGroups"].([]any)); n != emails {
						t.Errorf("unit %s, %s: %d action groups, want %d", u.Name, suffix, n, emails)
					}
				}
			}
		})
	}
}

func TestNCRONTAB(t *testing.T) {
	tests := []struct{ in, want string }{
		{"*/5 * * * *", "0 */5 * * * *"},
		{"0 3 * * 1-5", "0 0 3 * * 1-5"},
		{"30 */5 * * * *", "30 */5 * * * *"},
		{"30 0 3 1,15 * ?", "30 0 3 1,15 * *"},
		{"@hourly", "0 0 * * * *"},
		{"@daily", "0 0 0 * * *"},
		{"@weekly", "0 0 0 * * 0"},
		{"@every 10s", "*/10 * * * * *"},
		{"@every 15m", "0 */15 * * * *"},
		{"@every 6h", "0 0 */6 * * *"},
	}
	for _, tt := range tests {
		s, err := deploy.ParseSchedule(core.TimerTrigger{Schedule: tt.in})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := azure.NCRONTAB(s); err != nil || got != tt.want {
			t.Errorf("NCRONTAB(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"@every 7m", "@every 90m", "@every 120h", "@every 7s"} {
		s, err := deploy.ParseSchedule(core.TimerTrigger{Schedule: in})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := azure.NCRONTAB(s); err == nil {
			t.Errorf("NCRONTAB(%q) = %q, want an error", in, got)
		}
	}
}

// TestRenderErrors checks that what Azure cannot deploy fails with an
// error naming the unit, the variable or the option.
func TestRenderErrors(t *testing.T) {
	nop := core.HandlerFunc(nil)
	ok := func(http.ResponseWriter, *http.Request) {}
	tests := []struct {
		name    string
		app     func(*core.App)
		opts    azure.Options
		schemes map[string]string
		want    string
	}{
		{"custom method", func(a *core.App) { a.HandleFunc("PURGE /cache", ok) }, azure.Options{}, nil, "routes only the methods"},
		{"root only", func(a *core.App) { a.HandleFunc("GET /{$}", ok) }, azure.Options{}, nil, "root path"},
		{"bad app name", func(a *core.App) { a.HandleFunc("GET /x", ok) }, azure.Options{Name: "Bad_Name", FunctionNames: azurefunctions.FunctionNames}, nil, `"Bad_Name"`},
		{"no function names", func(a *core.App) { a.HandleFunc("GET /x", ok) }, azure.Options{Name: "bad", FunctionNames: nil}, nil, "FunctionNames"},
		{"invalid container name", func(a *core.App) { a.On("f", core.ObjectTrigger{Bucket: "M_BUCKET_URL"}, nop) }, azure.Options{}, nil, "M_BUCKET_URL"},
		{"bucket of another cloud", func(a *core.App) { a.Require(core.Bucket("MEDIA_BUCKET_URL", core.Read)); a.HandleFunc("GET /x", ok) }, azure.Options{},
			map[string]string{"MEDIA_BUCKET_URL": "s3"}, "MEDIA_BUCKET_URL"},
		{"different dequeue counts", func(a *core.App) {
			a.On("f", core.MessageTrigger{Subscription: "ONE_QUEUE_URL", MaxDeliveries: 2}, nop)
			a.On("g", core.MessageTrigger{Subscription: "TWO_QUEUE_URL", MaxDeliveries: 3}, nop)
		}, azure.Options{}, map[string]string{"ONE_QUEUE_URL": deploy.AzureQueueScheme, "TWO_QUEUE_URL": deploy.AzureQueueScheme}, "maxDequeueCount"},
		{"different time zones", func(a *core.App) {
			a.On("f", core.TimerTrigger{Schedule: "@daily", TimeZone: "Europe/Paris"}, nop)
			a.On("g", core.TimerTrigger{Schedule: "@daily", TimeZone: "Asia/Tokyo"}, nop)
		}, azure.Options{}, nil, "WEBSITE_TIME_ZONE"},
		{"too many warm instances", func(a *core.App) {
			a.HandleFunc("GET /x", ok)
			a.Size(core.Sizing{WarmInstances: 21})
		}, azure.Options{}, nil, "unit bad asks for 21 warm instances"},
		{"interval without NCRONTAB", func(a *core.App) { a.On("f", core.TimerTrigger{Schedule: "@every 7m"}, nop) }, azure.Options{}, nil, "function f"},
		{"different stream batch sizes", func(a *core.App) {
			a.On("f", core.StreamTrigger{Stream: "ONE_STREAM_URL", BatchSize: 10}, nop)
			a.On("g", core.StreamTrigger{Stream: "TWO_STREAM_URL", BatchSize: 20}, nop)
		}, azure.Options{}, nil, "maxEventBatchSize"},
		{"stream of another cloud", func(a *core.App) { a.On("f", core.StreamTrigger{Stream: "ONE_STREAM_URL"}, nop) }, azure.Options{},
			map[string]string{"ONE_STREAM_URL": "kinesis"}, "ONE_STREAM_URL"},
		{"bad consumer group", func(a *core.App) { a.On("f", core.StreamTrigger{Stream: "ONE_STREAM_URL", ConsumerGroup: "-x"}, nop) },
			azure.Options{}, nil, "consumer group"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			app := core.NewApp("bad")
			tt.app(app)
			p, err := deploy.NewPlan([]core.Manifest{app.Manifest()}, nil)
			if err != nil {
				if strings.Contains(err.Error(), tt.want) {
					return // refused by the plan already, naming it
				}
				t.Fatal(err)
			}
			o := tt.opts
			if o.Name == "" {
				o.Name, o.FunctionNames = "bad", azurefunctions.FunctionNames
			}
			if tt.schemes != nil {
				o.Grants = &deploy.GrantOptions{Schemes: tt.schemes}
			}
			if _, err := azure.Render(p, &o); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// TestHostJSON checks what differs by app in host.json: proxying for an
// HTTP-only app, and the app-wide functionTimeout, the largest unit's.
func TestHostJSON(t *testing.T) {
	for _, tt := range []struct {
		e         example
		wantProxy bool
	}{{examples()[0], true}, {examples()[2], false}, {examples()[3], false}} {
		p, a := render(t, tt.e)
		h := a.Host
		if h.CustomHandler.EnableProxyingHTTPRequest != tt.wantProxy || h.CustomHandler.EnableForwardingHTTPRequest {
			t.Errorf("%s: proxying %v forwarding %v, want proxying %v and no forwarding", tt.e.name,
				h.CustomHandler.EnableProxyingHTTPRequest, h.CustomHandler.EnableForwardingHTTPRequest, tt.wantProxy)
		}
		var longest []int
		for _, u := range p.Units {
			longest = append(longest, u.Sizing.TimeoutSeconds)
		}
		sort.Ints(longest)
		s := longest[len(longest)-1]
		want := strings.Join([]string{two(s / 3600), two(s / 60 % 60), two(s % 60)}, ":")
		if h.FunctionTimeout != want {
			t.Errorf("%s: functionTimeout %s, want %s", tt.e.name, h.FunctionTimeout, want)
		}
	}
}

func two(n int) string { return string(rune('0'+n/10)) + string(rune('0'+n%10)) }
