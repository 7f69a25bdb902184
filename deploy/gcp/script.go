package gcp

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
)

// Limits of Cloud Run functions that the plan does not check, since other
// clouds take more.
const (
	// maxFunctionName is the longest function name
	// (https://cloud.google.com/functions/docs/reference/rest/v2/projects.locations.functions).
	maxFunctionName = 63
	// maxEventTimeout is the longest timeout of an event-driven function,
	// in seconds; an HTTP function may run for an hour
	// (https://cloud.google.com/functions/docs/configuring/timeout).
	maxEventTimeout = 540
	maxHTTPTimeout  = 3600
)

// invokerAccount is the service account that Eventarc, Pub/Sub push and
// Cloud Scheduler call the functions as: it holds roles/run.invoker on
// each event function and nothing on the app's resources, so that no
// unit's own identity is widened to call another.
const invokerAccount = "polyfn-invoker"

// telemetryRoles are bound on the project for every unit's service
// account besides its resources' grants: Cloud Trace's agent role, which
// an exporter running as the unit (polyfn's OTLP export through a
// collector, or a Cloud Trace exporter) needs to write spans
// (https://cloud.google.com/trace/docs/iam#roles).
var telemetryRoles = []string{"roles/cloudtrace.agent"}

// Function is one Cloud Run function of the deployment: a unit, or half
// of an object trigger's unit that takes both kinds of event (Eventarc
// gives a function one event type).
type Function struct {
	Name       string
	EntryPoint string
	Unit       string
	// Serves says what the function receives, in Markdown.
	Serves string
	// Deploy is its gcloud functions deploy command.
	Deploy Command
}

// Account is a unit's service account and the bindings it is given.
type Account struct {
	Unit  string
	ID    string
	Email Word
	// Grants are deploy.GCPGrants of the unit, as bound.
	Grants []deploy.Grant[deploy.GCPRole]
}

// Deployment is everything deploy.sh does for a plan, as data.
type Deployment struct {
	// Vars are the variables deploy.sh requires, PROJECT and REGION
	// first, then the resources' in the order units name them.
	Vars []Var
	// Steps are deploy.sh's commands in order.
	Steps     []Step
	Functions []Function
	Accounts  []Account
	// Policies are the alert policy files by path (alerts/<name>.json).
	Policies map[string]AlertPolicy
	// Slack reports whether a Slack channel is declared, so that
	// SLACK_AUTH_TOKEN is required.
	Slack bool
}

// Options are the renderer's inputs beyond the plan.
type Options struct {
	// Runtime is the Cloud Run functions runtime ("go126").
	Runtime string
	// Grants are the schemes of variables whose URL is not GCP's default
	// for their kind (deploy.GrantOptions).
	Grants *deploy.GrantOptions
}

// New works out the deployment of p: the service accounts and their
// bindings, the queues, the functions, their triggers, the alert
// policies and the channels. It fails, naming the unit, on what Cloud
// Run functions cannot take.
func New(p *deploy.Plan, o Options) (*Deployment, error) {
	if o.Runtime == "" {
		return nil, fmt.Errorf("gcp: Options.Runtime is empty; want a Go runtime such as go126")
	}
	b := &builder{d: &Deployment{Policies: map[string]AlertPolicy{}}, vars: map[string]bool{}}
	b.need("PROJECT", "the Google Cloud project ID")
	b.need("REGION", "the region of the functions, such as europe-west1")
	if err := b.prepare(p, o); err != nil {
		return nil, err
	}
	for _, u := range p.Units {
		if err := b.unit(u, o); err != nil {
			return nil, fmt.Errorf("gcp: unit %s: %w", u.Name, err)
		}
	}
	b.alerts(p)
	return b.d, nil
}

type builder struct {
	d    *Deployment
	vars map[string]bool
	// channels maps a plan channel's name to the shell variable that
	// holds its resource name.
	channels map[string]string
}

// need declares a variable the script requires.
func (b *builder) need(name, about string) { b.variable(name, about, false) }

// variable declares a variable, required unless optional; a variable
// that one use requires is required.
func (b *builder) variable(name, about string, optional bool) {
	if !b.vars[name] {
		b.vars[name] = true
		b.d.Vars = append(b.d.Vars, Var{Name: name, About: about, Optional: optional})
		return
	}
	if !optional {
		for i := range b.d.Vars {
			if b.d.Vars[i].Name == name {
				b.d.Vars[i].Optional = false
			}
		}
	}
}

// optional reports whether a unit's resource may be left unset: one the
// app declares optional, unless it is the unit's trigger's.
func optional(r deploy.Resource) bool { return r.Optional && !r.Trigger }

func (b *builder) step(s Step) {
	// A service account just created takes up to a minute to be seen
	// by IAM everywhere (https://cloud.google.com/iam/docs/service-accounts-create#creating),
	// so a binding naming one is retried.
	for _, w := range s.Run {
		if len(w) == 1 && strings.HasSuffix(w[0].Lit, "add-iam-policy-binding") || len(w) == 1 && w[0].Lit == "add-invoker-policy-binding" {
			s.Retry = true
		}
	}
	b.d.Steps = append(b.d.Steps, s)
}

// project appends the project flag every command takes.
func project(c Command) Command { return c.with("--project=${PROJECT}") }

// ensure adds a step that creates what check does not find.
func (b *builder) ensure(comment string, check, create Command) {
	b.step(Step{Comment: comment, Check: project(check), Create: project(create)})
}

// prepare adds the steps every unit relies on: the project number (of
// the service agents' addresses), the invoker account and the custom
// roles.
func (b *builder) prepare(p *deploy.Plan, o Options) error {
	// https://cloud.google.com/functions/docs/deploy#before_you_begin and
	// each service's API for what the script creates.
	b.step(Step{Comment: "The APIs the deployment uses.", Run: project(gcloud("services", "enable",
		"cloudfunctions.googleapis.com", "run.googleapis.com", "cloudbuild.googleapis.com", "artifactregistry.googleapis.com",
		"eventarc.googleapis.com", "pubsub.googleapis.com", "cloudscheduler.googleapis.com", "monitoring.googleapis.com",
		"cloudtrace.googleapis.com", "iam.googleapis.com"))})
	var agents bool
	seen := map[string]bool{}
	for _, u := range p.Units {
		if u.Kind == deploy.EventUnit {
			agents = true
		}
		gs, err := deploy.GCPGrants(u, o.Grants)
		if err != nil {
			return fmt.Errorf("gcp: %w", err)
		}
		for _, g := range gs {
			for _, r := range g.Grants {
				if len(r.Permissions) == 0 || seen[r.Role] {
					continue
				}
				seen[r.Role] = true
				// https://cloud.google.com/iam/docs/creating-custom-roles#creating
				b.ensure("The custom role "+r.Role+": exactly what a "+string(g.Use)+" "+string(g.Kind)+" needs.",
					gcloud("iam", "roles", "describe", r.Role),
					gcloud("iam", "roles", "create", r.Role, "--title=polyfn "+r.Role,
						"--permissions="+strings.Join(r.Permissions, ","), "--stage=GA"))
			}
		}
	}
	if agents {
		b.step(Step{Comment: "The project number names the service agents of Pub/Sub and Cloud Storage.",
			Set: "PROJECT_NUMBER", Run: gcloud("projects", "describe", "${PROJECT}", "--format=value(projectNumber)")})
		b.ensure("The account Eventarc, Pub/Sub push subscriptions and Cloud Scheduler invoke the event functions as.",
			gcloud("iam", "service-accounts", "describe", invokerAccount+"@${PROJECT}.iam.gserviceaccount.com"),
			gcloud("iam", "service-accounts", "create", invokerAccount, "--display-name=polyfn: invokes event functions"))
	}
	object, eventarc := eventarcTriggers(p)
	if eventarc {
		// https://cloud.google.com/eventarc/docs/access-control#trigger-service-account
		b.step(Step{Comment: "Eventarc delivers events as " + invokerAccount + ", which must receive them.",
			Run: project(gcloud("projects", "add-iam-policy-binding", "${PROJECT}", "--condition=None",
				"--member=serviceAccount:"+invokerAccount+"@${PROJECT}.iam.gserviceaccount.com", "--role=roles/eventarc.eventReceiver"))})
	}
	if object {
		// https://cloud.google.com/functions/docs/calling/storage#deploying_a_function
		b.step(Step{Comment: "Cloud Storage's service agent publishes the object events Eventarc delivers.",
			Run: project(gcloud("projects", "add-iam-policy-binding", "${PROJECT}", "--condition=None",
				"--member=serviceAccount:service-${PROJECT_NUMBER}@gs-project-accounts.iam.gserviceaccount.com", "--role=roles/pubsub.publisher"))})
	}
	return nil
}

// accountID is a unit's service account ID: 6 to 30 lower-case letters,
// digits and dashes (https://cloud.google.com/iam/docs/service-accounts-create#creating):
// the unit's name, with "-fn" when it is shorter than 6, or cut to 23
// characters and a hash of the whole when it is longer than 30.
func accountID(unit string) string {
	switch {
	case len(unit) < 6:
		return unit + "-fn"
	case len(unit) <= 30:
		return unit
	}
	sum := sha256.Sum256([]byte(unit))
	return strings.TrimRight(unit[:23], "-") + "-" + hex.EncodeToString(sum[:])[:6]
}

// shellName is the shell variable of a resource variable: its name
// without _URL (USERS_BUCKET_URL → USERS_BUCKET), which holds the
// resource's name rather than its URL.
func shellName(env string) string { return strings.TrimSuffix(env, "_URL") }

// upper turns a resource name into a shell variable's suffix.
func upper(s string) string { return strings.ToUpper(strings.ReplaceAll(s, "-", "_")) }

// resourceVar declares the shell variables of r and returns its URL as
// the unit's environment gives it.
func (b *builder) resourceVar(r deploy.Resource) string {
	v := shellName(r.Env)
	need := func(name, about string) { b.variable(name, about, optional(r)) }
	switch r.Kind {
	case core.KindBucket:
		need(v, "the Cloud Storage bucket of "+r.Env+" (its name)")
		return "gs://${" + v + "}"
	case core.KindTopic:
		need(v, "the Pub/Sub topic of "+r.Env+" (its ID)")
		return "gcppubsub://projects/${PROJECT}/topics/${" + v + "}"
	case core.KindSubscription:
		need(v, "the Pub/Sub subscription of "+r.Env+" (its ID)")
		return "gcppubsub://projects/${PROJECT}/subscriptions/${" + v + "}"
	case core.KindKeeper:
		need(v, "the Cloud KMS key of "+r.Env+" (projects/…/locations/…/keyRings/…/cryptoKeys/…)")
		return "gcpkms://${" + v + "}"
	case core.KindVariable:
		need(v, "the Secret Manager secret of "+r.Env+" (its ID)")
		return "gcpsecretmanager://projects/${PROJECT}/secrets/${" + v + "}?decoder=string"
	case core.KindCollection:
		need(v, "the Firestore collection of "+r.Env+" (its ID)")
		need(v+"_NAME_FIELD", "the field that holds the documents' names in "+r.Env+" (gocloud's name_field)")
		return "firestore://projects/${PROJECT}/databases/(default)/documents/${" + v + "}?name_field=${" + v + "_NAME_FIELD}"
	}
	// The OIDC kinds are values, not resources: passed as they are.
	need(v, "the value of "+r.Env)
	return "${" + v + "}"
}

// scopeCommand is the add-iam-policy-binding command of a scope, for the
// resource in shell variable v.
func scopeCommand(s deploy.GCPScope, v string) (Command, error) {
	switch s {
	case deploy.GCPBucket:
		return gcloud("storage", "buckets", "add-iam-policy-binding", "gs://${"+v+"}"), nil
	case deploy.GCPTopic:
		return gcloud("pubsub", "topics", "add-iam-policy-binding", "${"+v+"}"), nil
	case deploy.GCPSubscription:
		return gcloud("pubsub", "subscriptions", "add-iam-policy-binding", "${"+v+"}"), nil
	case deploy.GCPSecret:
		return gcloud("secrets", "add-iam-policy-binding", "${"+v+"}"), nil
	case deploy.GCPKey:
		return gcloud("kms", "keys", "add-iam-policy-binding", "${"+v+"}"), nil
	case deploy.GCPProject:
		// --condition=None: a project with conditional bindings would
		// otherwise ask which condition to add.
		return gcloud("projects", "add-iam-policy-binding", "${PROJECT}", "--condition=None"), nil
	}
	return nil, fmt.Errorf("no gcloud command binds on a %q", s)
}

// roleName is how a binding names a role: a predefined role as it is, a
// custom role by its project path.
func roleName(r deploy.GCPRole) string {
	if len(r.Permissions) > 0 {
		return "projects/${PROJECT}/roles/" + r.Role
	}
	return r.Role
}

func (b *builder) unit(u deploy.Unit, o Options) error {
	if u.Kind == deploy.EventUnit && u.Sizing.TimeoutSeconds > maxEventTimeout {
		return fmt.Errorf("timeout %ds is above Cloud Run functions' %ds for event functions", u.Sizing.TimeoutSeconds, maxEventTimeout)
	}
	if u.Sizing.TimeoutSeconds > maxHTTPTimeout {
		return fmt.Errorf("timeout %ds is above Cloud Run functions' %ds", u.Sizing.TimeoutSeconds, maxHTTPTimeout)
	}
	grants, err := deploy.GCPGrants(u, o.Grants)
	if err != nil {
		return err
	}
	id := accountID(u.Name)
	email := id + "@${PROJECT}.iam.gserviceaccount.com"
	member := "--member=serviceAccount:" + email
	b.d.Accounts = append(b.d.Accounts, Account{Unit: u.Name, ID: id, Email: word(email), Grants: grants})
	b.ensure("The service account of "+u.Name+".",
		gcloud("iam", "service-accounts", "describe", email),
		gcloud("iam", "service-accounts", "create", id, "--display-name=polyfn unit "+u.Name))

	// ^;^ makes ; the separator, so that no URL's comma splits the list
	// (gcloud topic escaping); an optional resource's entry is there only
	// when its variable is set.
	env := word("--set-env-vars=^;^GOOGLE_CLOUD_PROJECT=${PROJECT}")
	for _, r := range u.Resources {
		entry := word(";" + r.Env + "=" + b.resourceVar(r))
		if optional(r) {
			entry = Word{ifSet(shellName(r.Env), entry)}
		}
		env = append(env, entry...)
	}
	// The trigger's own subscription is created after the function, whose
	// URL it pushes to; its binding waits for it.
	var later []Step
	for _, g := range grants {
		for _, r := range g.Grants {
			c, err := scopeCommand(r.On, shellName(g.Env))
			if err != nil {
				return fmt.Errorf("%s: %w", g.Env, err)
			}
			s := Step{Comment: fmt.Sprintf("%s may %s %s (%s).", u.Name, g.Use, g.Env, r.Role),
				Run: project(c.with(member, "--role="+roleName(r)))}
			if i := slices.IndexFunc(u.Resources, func(r deploy.Resource) bool { return r.Env == g.Env }); i >= 0 && optional(u.Resources[i]) {
				s.If = shellName(g.Env)
				s.Comment += " When " + s.If + " is set."
			}
			if u.Queue != nil && g.Env == u.Queue.Subscription {
				later = append(later, s)
			} else {
				b.step(s)
			}
		}
	}
	for _, role := range telemetryRoles {
		b.step(Step{Comment: u.Name + " may write traces to Cloud Trace.",
			Run: project(gcloud("projects", "add-iam-policy-binding", "${PROJECT}", "--condition=None", member, "--role="+role))})
	}

	fns, err := b.functions(u, o, email, env)
	if err != nil {
		return err
	}
	for _, f := range fns {
		if len(f.Name) > maxFunctionName {
			return fmt.Errorf("function name %q is longer than Cloud Run functions' %d characters", f.Name, maxFunctionName)
		}
		b.d.Functions = append(b.d.Functions, f)
		b.step(Step{Comment: "The function " + f.Name + ": " + f.Serves + ".", Run: f.Deploy})
		if u.Kind == deploy.EventUnit {
			// https://cloud.google.com/functions/docs/securing/managing-access-iam
			b.step(Step{Comment: invokerAccount + " may invoke " + f.Name + ".",
				Run: project(gcloud("functions", "add-invoker-policy-binding", f.Name, "--region=${REGION}",
					"--member=serviceAccount:"+invokerAccount+"@${PROJECT}.iam.gserviceaccount.com"))})
		}
	}
	t := u.Trigger
	switch {
	case t == nil:
	case t.Message != nil:
		b.queue(u, fns[0].Name)
		for _, s := range later {
			b.step(s)
		}
	case t.Timer != nil:
		return b.schedule(u, fns[0].Name)
	}
	return nil
}

// urlVar is the shell variable that holds a function's URL.
func urlVar(fn string) string { return "URL_" + upper(fn) }

// captureURL adds the step that reads a function's URL.
func (b *builder) captureURL(fn string) string {
	v := urlVar(fn)
	b.step(Step{Comment: "The URL of " + fn + ".", Set: v,
		Run: project(gcloud("functions", "describe", fn, "--gen2", "--region=${REGION}", "--format=value(serviceConfig.uri)"))})
	return v
}

// functions returns the Cloud Run functions of u with their deploy
// commands.
func (b *builder) functions(u deploy.Unit, o Options, email string, env Word) ([]Function, error) {
	entry := u.App
	if u.Kind == deploy.EventUnit {
		entry = u.Function // as gcpfunctions names its entry points
	}
	deploy := func(name string, trigger ...string) Command {
		c := gcloud("functions", "deploy", name, "--gen2", "--region=${REGION}", "--runtime="+o.Runtime,
			"--source=.", "--entry-point="+entry)
		c = c.with(sizing(u.Sizing)...)
		c = append(c.with("--service-account="+email), env)
		return project(c.with(trigger...))
	}
	invoker := "--trigger-service-account=" + invokerAccount + "@${PROJECT}.iam.gserviceaccount.com"
	name := u.Name
	t := u.Trigger
	switch {
	case t == nil:
		var routes []string
		for _, r := range u.Routes {
			routes = append(routes, "`"+r.Pattern+"`")
		}
		return []Function{{Name: name, EntryPoint: entry, Unit: u.Name, Serves: "HTTP " + strings.Join(routes, ", "),
			Deploy: deploy(name, "--trigger-http", "--no-allow-unauthenticated")}}, nil
	case t.Object != nil:
		bucket := shellName(t.Object.Bucket)
		ot := core.ObjectTrigger{Events: t.Object.Events}
		var fns []Function
		for _, k := range ot.Kinds() {
			types, ok := storageEvents[k]
			if !ok {
				return nil, fmt.Errorf("function %s: Cloud Storage has no event of kind %s (it has %s); leave it out of the trigger's Events for Google Cloud",
					u.Function, k, storageKinds())
			}
			for _, se := range types {
				// One trigger per function: the first is the unit's own,
				// each other event type's function is named after it.
				fn := Function{Name: name, EntryPoint: entry, Unit: u.Name, Serves: se.serves + " `$" + bucket + "`"}
				if len(fns) > 0 {
					fn.Name = name + "-" + se.suffix
				}
				// https://cloud.google.com/functions/docs/calling/storage
				if se.typ == storageFinalized {
					fn.Deploy = deploy(fn.Name, "--trigger-bucket=${"+bucket+"}", invoker, "--retry")
				} else {
					fn.Deploy = deploy(fn.Name, "--trigger-event-filters=type="+se.typ,
						"--trigger-event-filters=bucket=${"+bucket+"}", invoker, "--retry")
				}
				fns = append(fns, fn)
			}
		}
		return fns, nil
	case t.Change != nil:
		coll := shellName(t.Change.Source)
		b.need(coll, "the Firestore collection of "+t.Change.Source+" (its ID)")
		b.need("FIRESTORE_LOCATION", "the location of the Firestore database, such as eur3")
		// https://cloud.google.com/firestore/docs/extend-with-functions-2nd-gen
		return []Function{{Name: name, EntryPoint: entry, Unit: u.Name,
			Serves: "changes to documents in `$" + coll + "` (Firestore, database `(default)`)",
			Deploy: deploy(name, "--trigger-event-filters=type=google.cloud.firestore.document.v1.written",
				"--trigger-event-filters=database=(default)",
				"--trigger-event-filters-path-pattern=document=${"+coll+"}/{document}",
				"--trigger-location=${FIRESTORE_LOCATION}", invoker, "--retry")}}, nil
	case t.Message != nil:
		return []Function{{Name: name, EntryPoint: entry, Unit: u.Name,
			Serves: "messages of the push subscription `$" + shellName(u.Queue.Subscription) + "`",
			Deploy: deploy(name, "--trigger-http", "--no-allow-unauthenticated")}}, nil
	case t.Timer != nil:
		return []Function{{Name: name, EntryPoint: entry, Unit: u.Name,
			Serves: "the Cloud Scheduler job `" + name + "`",
			Deploy: deploy(name, "--trigger-http", "--no-allow-unauthenticated")}}, nil
	}
	return nil, fmt.Errorf("unknown trigger kind %q", t.Kind)
}

// storageEvent is a Cloud Storage event type that an object trigger's
// function subscribes to: its suffix names the function of an event type
// after the first.
type storageEvent struct {
	typ, suffix, serves string
}

const storageFinalized = "google.cloud.storage.object.v1.finalized"

// storageEvents are the Cloud Storage event types of each object kind
// (https://cloud.google.com/functions/docs/calling/storage), as
// gcpfunctions maps them: a deletion is deleted, and in a versioned
// bucket archived, which Cloud Storage sends instead when the live
// version becomes noncurrent. Cloud Storage has no event of the other
// kinds.
var storageEvents = map[core.Kind][]storageEvent{
	core.KindObjectCreated: {{storageFinalized, "created", "objects created in"}},
	core.KindObjectDeleted: {
		{"google.cloud.storage.object.v1.deleted", "deleted", "objects deleted from"},
		{"google.cloud.storage.object.v1.archived", "archived", "objects archived (made noncurrent) in"},
	},
	core.KindObjectUpdated: {{"google.cloud.storage.object.v1.metadataUpdated", "updated", "metadata updates of objects in"}},
}

// storageKinds lists the object kinds Cloud Storage has events of.
func storageKinds() string {
	var ks []string
	for _, k := range core.ObjectKinds {
		if _, ok := storageEvents[k]; ok {
			ks = append(ks, string(k))
		}
	}
	return strings.Join(ks, ", ")
}

// sizing returns the deploy flags of a unit's sizing. Every flag is
// given, defaults too, so that a redeploy after a change takes it back.
func sizing(s deploy.Sizing) []string {
	flags := []string{"--memory=" + strconv.Itoa(s.MemoryMiB) + "Mi", "--timeout=" + strconv.Itoa(s.TimeoutSeconds) + "s"}
	if cpu := minCPU(s); cpu != "" {
		flags = append(flags, "--cpu="+cpu)
	}
	flags = append(flags, "--min-instances="+strconv.Itoa(s.WarmInstances))
	if s.MaxInstances > 0 {
		flags = append(flags, "--max-instances="+strconv.Itoa(s.MaxInstances))
	} else {
		flags = append(flags, "--clear-max-instances")
	}
	return append(flags, "--concurrency="+strconv.Itoa(s.PerInstanceConcurrency))
}

// minCPU is the CPU a sizing needs beyond the default that its memory
// gets, or "" when the default is enough: serving more than one request
// at once needs a whole CPU (https://cloud.google.com/functions/docs/configuring/concurrency),
// and more than 4 GiB needs 2 CPUs, more than 8 GiB 4
// (https://cloud.google.com/run/docs/configuring/services/memory-limits).
// The default is 1 CPU from 2 GiB up
// (https://cloud.google.com/functions/docs/configuring/memory).
func minCPU(s deploy.Sizing) string {
	switch {
	case s.MemoryMiB > 8192:
		return "4"
	case s.MemoryMiB > 4096:
		return "2"
	case s.PerInstanceConcurrency > 1 && s.MemoryMiB < 2048:
		return "1"
	}
	return ""
}

// queue adds a message trigger's plumbing: the topic, the dead-letter
// topic with a subscription that keeps what lands there, the push
// subscription to the function with its dead-letter policy, and the
// Pub/Sub service agent's roles that forwarding to the dead letter
// needs.
func (b *builder) queue(u deploy.Unit, fn string) {
	q := u.Queue
	sub := shellName(q.Subscription)
	topic := shellName(q.Topic)
	if q.Topic == "" {
		topic = sub + "_TOPIC"
		b.need(topic, "the Pub/Sub topic that feeds "+q.Subscription+" (its ID; the trigger names none)")
	}
	b.ensure("The topic that feeds "+u.Name+".",
		gcloud("pubsub", "topics", "describe", "${"+topic+"}"),
		gcloud("pubsub", "topics", "create", "${"+topic+"}"))
	b.ensure("The dead-letter topic of "+u.Name+".",
		gcloud("pubsub", "topics", "describe", q.DeadLetter),
		gcloud("pubsub", "topics", "create", q.DeadLetter))
	b.ensure("A subscription that keeps the dead letters: a topic without one drops what it is sent.",
		gcloud("pubsub", "subscriptions", "describe", q.DeadLetter),
		gcloud("pubsub", "subscriptions", "create", q.DeadLetter, "--topic="+q.DeadLetter))
	url := b.captureURL(fn)
	// A push subscription's acknowledgement deadline is how long it
	// waits for the function's answer: the unit's timeout, 10 to 600 s
	// (https://cloud.google.com/pubsub/docs/push#ack_deadline).
	ack := min(max(u.Sizing.TimeoutSeconds, 10), 600)
	create := gcloud("pubsub", "subscriptions", "create", "${"+sub+"}", "--topic=${"+topic+"}",
		"--push-endpoint=${"+url+"}", "--push-auth-service-account="+invokerAccount+"@${PROJECT}.iam.gserviceaccount.com",
		"--ack-deadline="+strconv.Itoa(ack),
		"--dead-letter-topic=projects/${PROJECT}/topics/"+q.DeadLetter,
		"--max-delivery-attempts="+strconv.Itoa(q.MaxDeliveries))
	if q.Ordered {
		create = create.with("--enable-message-ordering")
	}
	// An existing subscription is updated to the declaration (ordering
	// alone cannot change after creation).
	b.step(Step{Comment: "The push subscription of " + u.Name + ": a message is delivered at most " + strconv.Itoa(q.MaxDeliveries) +
		" times, then forwarded to " + q.DeadLetter + ".",
		Check:  project(gcloud("pubsub", "subscriptions", "describe", "${"+sub+"}")),
		Create: project(create),
		Update: project(gcloud("pubsub", "subscriptions", "update", "${"+sub+"}", "--push-endpoint=${"+url+"}",
			"--push-auth-service-account="+invokerAccount+"@${PROJECT}.iam.gserviceaccount.com",
			"--ack-deadline="+strconv.Itoa(ack), "--dead-letter-topic=projects/${PROJECT}/topics/"+q.DeadLetter,
			"--max-delivery-attempts="+strconv.Itoa(q.MaxDeliveries)))})
	// https://cloud.google.com/pubsub/docs/handling-failures#grant_forwarding_permissions
	agent := "--member=serviceAccount:service-${PROJECT_NUMBER}@gcp-sa-pubsub.iam.gserviceaccount.com"
	b.step(Step{Comment: "Pub/Sub's service agent may forward to the dead letter.",
		Run: project(gcloud("pubsub", "topics", "add-iam-policy-binding", q.DeadLetter, agent, "--role=roles/pubsub.publisher"))})
	b.step(Step{Comment: "Pub/Sub's service agent may acknowledge what it forwards.",
		Run: project(gcloud("pubsub", "subscriptions", "add-iam-policy-binding", "${"+sub+"}", agent, "--role=roles/pubsub.subscriber"))})
	// https://cloud.google.com/pubsub/docs/create-push-subscription#authentication
	b.step(Step{Comment: "Pub/Sub's service agent may make the push requests' tokens as " + invokerAccount + ".",
		Run: project(gcloud("iam", "service-accounts", "add-iam-policy-binding",
			invokerAccount+"@${PROJECT}.iam.gserviceaccount.com", agent, "--role=roles/iam.serviceAccountTokenCreator"))})
}

// schedule adds a timer's Cloud Scheduler job, which posts to the
// function with an OIDC token of the invoker account
// (https://cloud.google.com/scheduler/docs/http-target-auth).
func (b *builder) schedule(u deploy.Unit, fn string) error {
	cron, err := schedulerCron(*u.Schedule)
	if err != nil {
		return err
	}
	url := b.captureURL(fn)
	job := []string{"--location=${REGION}", "--schedule=" + cron,
		"--time-zone=" + u.Schedule.TimeZone, "--uri=${" + url + "}", "--http-method=POST",
		"--oidc-service-account-email=" + invokerAccount + "@${PROJECT}.iam.gserviceaccount.com",
		"--oidc-token-audience=${" + url + "}"}
	b.step(Step{Comment: "The Cloud Scheduler job of " + u.Name + ": " + u.Schedule.Expr + ".",
		Check:  project(gcloud("scheduler", "jobs", "describe", u.Name, "--location=${REGION}")),
		Create: project(gcloud("scheduler", "jobs", "create", "http", u.Name).with(job...)),
		Update: project(gcloud("scheduler", "jobs", "update", "http", u.Name).with(job...))})
	return nil
}

// eventarcTriggers reports whether a plan has a unit that Eventarc
// delivers to.
func eventarcTriggers(p *deploy.Plan) (object, any bool) {
	for _, u := range p.Units {
		if u.Trigger != nil && (u.Trigger.Object != nil || u.Trigger.Change != nil) {
			any = true
			object = object || u.Trigger.Object != nil
		}
	}
	return object, any
}

// channelVar is the shell variable that holds a channel's resource name.
func channelVar(name string) string { return "CHANNEL_" + upper(name) }
