package deploy

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/polyfn/polyfn/core"
)

// kinds are every resource kind core declares.
var kinds = []core.ResourceKind{core.KindBucket, core.KindTopic, core.KindSubscription, core.KindKeeper,
	core.KindVariable, core.KindCollection, core.KindOIDCIssuer, core.KindOIDCAudience, core.KindStream}

// schemes are the schemes each cloud's table must cover per kind: the
// default, and the others a kind's URL may have on that cloud.
var schemes = map[string]map[core.ResourceKind][]string{
	AWS:   {core.KindVariable: {"awsparamstore", "awssecretsmanager"}, core.KindStream: {core.SchemeKinesis, MSKScheme, core.SchemeKafka}},
	Azure: {core.KindSubscription: {"azuresb", AzureQueueScheme}},
}

// what says, independently of the tables, what each action, permission or
// role a table names lets its holder do: one use (or "meta", which opens
// the resource without reading or changing it, as DescribeTable does). A
// row may hold only what its use includes.
var what = map[string]core.Use{
	// AWS actions
	"s3:ListBucket": core.Read, "s3:GetObject": core.Read,
	"s3:PutObject": core.Write, "s3:DeleteObject": core.Write, "s3:AbortMultipartUpload": core.Write,
	"sns:Publish":        core.Publish,
	"sqs:ReceiveMessage": core.Consume, "sqs:DeleteMessage": core.Consume, "sqs:ChangeMessageVisibility": core.Consume,
	"sqs:GetQueueAttributes": core.Consume,
	"kms:Encrypt":            core.Encrypt, "kms:Decrypt": core.Decrypt,
	"ssm:GetParameter":              core.Read,
	"secretsmanager:GetSecretValue": core.Read, "secretsmanager:DescribeSecret": core.Read,
	"dynamodb:DescribeTable": "meta",
	"dynamodb:BatchGetItem":  core.Read, "dynamodb:Query": core.Read, "dynamodb:Scan": core.Read,
	"dynamodb:PutItem": core.Write, "dynamodb:UpdateItem": core.Write, "dynamodb:DeleteItem": core.Write,
	"kinesis:DescribeStream": "meta", "kinesis:DescribeStreamSummary": "meta", "kinesis:ListShards": "meta",
	"kinesis:GetRecords": core.Consume, "kinesis:GetShardIterator": core.Consume, "kinesis:SubscribeToShard": core.Consume,
	"kafka:DescribeClusterV2": "meta", "kafka:GetBootstrapBrokers": "meta",
	"kafka-cluster:Connect": "meta", "kafka-cluster:DescribeClusterDynamicConfiguration": "meta", "kafka-cluster:DescribeTopic": "meta",
	"kafka-cluster:ReadData": core.Consume, "kafka-cluster:DescribeGroup": core.Consume, "kafka-cluster:AlterGroup": core.Consume,
	// Lambda's poller reaching brokers in a VPC: network plumbing, no data.
	"ec2:CreateNetworkInterface": "meta", "ec2:DeleteNetworkInterface": "meta", "ec2:DescribeNetworkInterfaces": "meta",
	"ec2:DescribeVpcs": "meta", "ec2:DescribeSubnets": "meta", "ec2:DescribeSecurityGroups": "meta",
	// GCP roles and custom roles' permissions
	"roles/storage.objectViewer": core.Read, "roles/storage.objectUser": core.ReadWrite,
	"storage.objects.create": core.Write, "storage.objects.delete": core.Write,
	"roles/pubsub.publisher": core.Publish, "roles/pubsub.subscriber": core.Consume,
	"roles/cloudkms.cryptoKeyEncrypter": core.Encrypt, "roles/cloudkms.cryptoKeyDecrypter": core.Decrypt,
	"roles/cloudkms.cryptoKeyEncrypterDecrypter": core.EncryptDecrypt,
	"roles/secretmanager.secretAccessor":         core.Read,
	"roles/datastore.viewer":                     core.Read, "roles/datastore.user": core.ReadWrite,
	"datastore.entities.create": core.Write, "datastore.entities.update": core.Write, "datastore.entities.delete": core.Write,
	// Azure built-in roles and custom roles' data actions
	"Storage Blob Data Reader": core.Read, "Storage Blob Data Contributor": core.ReadWrite,
	blobData + "write": core.Write, blobData + "add/action": core.Write, blobData + "delete": core.Write,
	"Azure Service Bus Data Sender": core.Publish, "Azure Service Bus Data Receiver": core.Consume,
	"Storage Queue Data Reader": core.Consume, "Storage Queue Data Message Processor": core.Consume,
	"Microsoft.KeyVault/vaults/keys/encrypt/action": core.Encrypt,
	"Microsoft.KeyVault/vaults/keys/decrypt/action": core.Decrypt,
	"Key Vault Secrets User":                        core.Read,
	"Azure Event Hubs Data Receiver":                core.Consume,
	"find":                                          core.Read, "insert": core.Write, "update": core.Write, "remove": core.Write,
}

// writes are the capabilities that change or delete data: a row of a
// read use holds none of them.
func writes(c core.Use) bool { return c == core.Write || c == core.ReadWrite }

func allows(use, c core.Use) bool {
	if c == "meta" {
		return true
	}
	if c == core.ReadWrite || c == core.EncryptDecrypt {
		return use == c
	}
	return use.Includes(c)
}

// TestTablesCoverEveryUse walks every kind and every use it takes: each
// has exactly one row per scheme on every cloud, and a kind that takes no
// use has none.
func TestTablesCoverEveryUse(t *testing.T) {
	for _, cloud := range []string{AWS, GCP, Azure} {
		keys := tableKeys(cloud)
		want := map[string]bool{}
		for _, k := range kinds {
			if why := Lacks(cloud, k); why != "" {
				if DefaultScheme(cloud, k) != "" || len(schemesOfCloud(cloud, k)) > 0 {
					t.Errorf("%s: kind %s, which it lacks (%s), has a default scheme or rows", cloud, k, why)
				}
				continue
			}
			ss := schemes[cloud][k]
			if ss == nil && DefaultScheme(cloud, k) != "" {
				ss = []string{DefaultScheme(cloud, k)}
			}
			if len(core.UsesOf(k)) == 0 && DefaultScheme(cloud, k) != "" {
				t.Errorf("%s: kind %s takes no use but has a default scheme", cloud, k)
			}
			if len(core.UsesOf(k)) > 0 && (len(ss) == 0 || ss[0] != DefaultScheme(cloud, k)) {
				t.Errorf("%s: kind %s: default scheme %q, want the first of %q", cloud, k, DefaultScheme(cloud, k), ss)
			}
			for _, u := range core.UsesOf(k) {
				for _, s := range ss {
					want[string(k)+" "+string(u)+" "+s] = true
				}
			}
		}
		for key := range want {
			if n := keys[key]; n != 1 {
				t.Errorf("%s: (%s) has %d rows, want 1", cloud, key, n)
			}
		}
		for key := range keys {
			if !want[key] {
				t.Errorf("%s: row (%s) is for no use its kind takes", cloud, key)
			}
		}
	}
}

// schemesOfCloud lists the schemes a cloud's table has rows for a kind.
func schemesOfCloud(cloud string, k core.ResourceKind) []string {
	switch cloud {
	case AWS:
		return schemesOf(awsTable, k)
	case GCP:
		return schemesOf(gcpTable, k)
	}
	return schemesOf(azureTable, k)
}

// unscoped are the AWS actions that take no resource (the Service
// Authorization Reference lists none for them), which IAM grants on "*"
// only.
var unscoped = []string{"ec2:DescribeNetworkInterfaces", "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"}

func tableKeys(cloud string) map[string]int {
	n := map[string]int{}
	add := func(k core.ResourceKind, u core.Use, s string) { n[string(k)+" "+string(u)+" "+s]++ }
	switch cloud {
	case AWS:
		for _, r := range awsTable {
			add(r.Kind, r.Use, r.Scheme)
		}
	case GCP:
		for _, r := range gcpTable {
			add(r.Kind, r.Use, r.Scheme)
		}
	case Azure:
		for _, r := range azureTable {
			add(r.Kind, r.Use, r.Scheme)
		}
	}
	return n
}

var (
	placeholder = regexp.MustCompile(`\$\{[^}]*\}`)
	guid        = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	gcpRoleName = regexp.MustCompile(`^(roles/[a-z]+\.[A-Za-z]+|polyfn[A-Z][A-Za-z]+)$`)
	gcpPerm     = regexp.MustCompile(`^[a-z]+\.[a-zA-Z]+\.[a-zA-Z]+$`)
)

// check reports a capability that the use of its row does not include,
// or that the test does not know.
func check(t *testing.T, cloud string, k core.ResourceKind, use core.Use, name string) {
	t.Helper()
	c, known := what[name]
	if !known {
		t.Errorf("%s (%s, %s): %q: add what it allows to the test's table", cloud, k, use, name)
		return
	}
	if !allows(use, c) {
		t.Errorf("%s (%s, %s): %q allows %s, more than the use", cloud, k, use, name, c)
	}
}

// TestRowsGrantNoMoreThanTheirUse checks every row of every table: each
// action, role or permission allows nothing beyond the row's use (a read
// row holds no write or delete), and each is well-formed (ARN patterns
// with known placeholders, role names, GUIDs).
func TestRowsGrantNoMoreThanTheirUse(t *testing.T) {
	known := []string{"${AWS::Partition}", "${AWS::Region}", "${AWS::AccountId}", "${Name}", "${Arn}"}
	for _, r := range awsTable {
		if len(r.Grants) == 0 {
			t.Errorf("aws (%s, %s, %s) grants nothing", r.Kind, r.Use, r.Scheme)
		}
		for _, s := range r.Grants {
			if s.Effect != "Allow" || len(s.Action) == 0 || len(s.Resource) == 0 {
				t.Errorf("aws (%s, %s): statement %+v: want Allow, actions and resources", r.Kind, r.Use, s)
			}
			if s.Condition["StringEquals"]["kms:ViaService"] != "" {
				// Decrypting a SecureString or a secret through its
				// service is part of reading it, and nothing else.
				if r.Use != core.Read || !slices.Equal(s.Action, []string{"kms:Decrypt"}) {
					t.Errorf("aws (%s, %s): %q through a service: want kms:Decrypt for a read", r.Kind, r.Use, s.Action)
				}
				continue
			}
			for _, a := range s.Action {
				check(t, AWS, r.Kind, r.Use, a)
			}
			for _, res := range s.Resource {
				if res == "*" && !slices.ContainsFunc(s.Action, func(a string) bool { return !slices.Contains(unscoped, a) }) {
					continue
				}
				if res == "*" || !strings.HasPrefix(res, "arn:${AWS::Partition}:") && res != "${Arn}" {
					t.Errorf("aws (%s, %s): resource %q is not scoped to an ARN", r.Kind, r.Use, res)
				}
				for _, p := range placeholder.FindAllString(res, -1) {
					if !slices.Contains(known, p) {
						t.Errorf("aws (%s, %s): resource %q: unknown placeholder %s", r.Kind, r.Use, res, p)
					}
				}
				if strings.HasSuffix(res, ":key/*") && s.Condition["StringEquals"]["kms:ViaService"] == "" {
					t.Errorf("aws (%s, %s): %q on every key without a kms:ViaService condition", r.Kind, r.Use, res)
				}
			}
		}
	}
	for _, r := range gcpTable {
		if len(r.Grants) == 0 {
			t.Errorf("gcp (%s, %s, %s) grants nothing", r.Kind, r.Use, r.Scheme)
		}
		for _, g := range r.Grants {
			if !gcpRoleName.MatchString(g.Role) || g.On == "" {
				t.Errorf("gcp (%s, %s): role %+v: want roles/<service>.<role> or polyfn<Name>, and a scope", r.Kind, r.Use, g)
			}
			custom := !strings.HasPrefix(g.Role, "roles/")
			if custom != (len(g.Permissions) > 0) {
				t.Errorf("gcp (%s, %s): role %s: a custom role, and only one, lists its permissions", r.Kind, r.Use, g.Role)
			}
			if !custom {
				check(t, GCP, r.Kind, r.Use, g.Role)
			}
			for _, p := range g.Permissions {
				if !gcpPerm.MatchString(p) {
					t.Errorf("gcp (%s, %s): permission %q is not <service>.<resource>.<verb>", r.Kind, r.Use, p)
				}
				check(t, GCP, r.Kind, r.Use, p)
			}
		}
	}
	for _, r := range azureTable {
		if len(r.Grants) == 0 {
			t.Errorf("azure (%s, %s, %s) grants nothing", r.Kind, r.Use, r.Scheme)
		}
		for _, g := range r.Grants {
			if g.Name == "" || g.Scope == "" || (g.System != "rbac" && g.System != "mongo") {
				t.Errorf("azure (%s, %s): role %+v: want a name, a scope and a system", r.Kind, r.Use, g)
			}
			builtIn := g.ID != ""
			if builtIn && !guid.MatchString(g.ID) {
				t.Errorf("azure (%s, %s): %s: role definition ID %q is not a GUID", r.Kind, r.Use, g.Name, g.ID)
			}
			if builtIn == (len(g.DataActions) > 0) || builtIn && g.System != "rbac" {
				t.Errorf("azure (%s, %s): %s: a built-in role has an ID and no data actions, a custom one the reverse", r.Kind, r.Use, g.Name)
			}
			if builtIn {
				check(t, Azure, r.Kind, r.Use, g.Name)
			}
			for _, a := range g.DataActions {
				check(t, Azure, r.Kind, r.Use, a)
			}
		}
	}
}

// TestReadRowsHoldNoWrite is the rule said plainly: a row for
// reading holds no capability that writes or deletes, on any cloud.
func TestReadRowsHoldNoWrite(t *testing.T) {
	names := func(cloud string) map[core.Use][]string {
		out := map[core.Use][]string{}
		switch cloud {
		case AWS:
			for _, r := range awsTable {
				for _, s := range r.Grants {
					out[r.Use] = append(out[r.Use], s.Action...)
				}
			}
		case GCP:
			for _, r := range gcpTable {
				for _, g := range r.Grants {
					out[r.Use] = append(append(out[r.Use], g.Role), g.Permissions...)
				}
			}
		case Azure:
			for _, r := range azureTable {
				for _, g := range r.Grants {
					out[r.Use] = append(append(out[r.Use], g.Name), g.DataActions...)
				}
			}
		}
		return out
	}
	for _, cloud := range []string{AWS, GCP, Azure} {
		reads := names(cloud)[core.Read]
		if len(reads) == 0 {
			t.Fatalf("%s has no read rows", cloud)
		}
		for _, n := range reads {
			if writes(what[n]) || strings.Contains(strings.ToLower(n), "delete") || strings.Contains(strings.ToLower(n), "put") {
				t.Errorf("%s: a read row holds %q", cloud, n)
			}
		}
	}
}

// markdown renders a cloud's table as docs/deploy.md shows it.
func markdown(cloud string) string {
	var b strings.Builder
	code := func(ss []string) string { return "`" + strings.Join(ss, "`, `") + "`" }
	switch cloud {
	case AWS:
		b.WriteString("| kind | use | scheme | actions | on |\n| --- | --- | --- | --- | --- |\n")
		for _, r := range awsTable {
			for _, s := range r.Grants {
				on := code(s.Resource)
				if v := s.Condition["StringEquals"]["kms:ViaService"]; v != "" {
					on += " via `" + v + "`"
				}
				fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %s |\n", r.Kind, r.Use, r.Scheme, code(s.Action), on)
			}
		}
	case GCP:
		b.WriteString("| kind | use | scheme | role | on |\n| --- | --- | --- | --- | --- |\n")
		for _, r := range gcpTable {
			for _, g := range r.Grants {
				role := "`" + g.Role + "`"
				if len(g.Permissions) > 0 {
					role += " (custom: " + code(g.Permissions) + ")"
				}
				fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %s |\n", r.Kind, r.Use, r.Scheme, role, g.On)
			}
		}
	case Azure:
		b.WriteString("| kind | use | scheme | role | scope |\n| --- | --- | --- | --- | --- |\n")
		for _, r := range azureTable {
			for _, g := range r.Grants {
				role := g.Name + " (`" + g.ID + "`)"
				switch {
				case g.System == "mongo":
					role = "MongoDB role `" + g.Name + "` (" + code(g.DataActions) + ")"
				case g.ID == "":
					role = g.Name + " (custom: " + code(g.DataActions) + ")"
				}
				fmt.Fprintf(&b, "| %s | %s | `%s` | %s | %s |\n", r.Kind, r.Use, r.Scheme, role, g.Scope)
			}
		}
	}
	return b.String()
}

// TestDocTables checks that docs/deploy.md shows each table as the data
// holds it, between <!-- grants:<cloud> --> and <!-- /grants:<cloud> -->.
func TestDocTables(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "deploy.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, cloud := range []string{AWS, GCP, Azure} {
		begin, end := "<!-- grants:"+cloud+" -->\n", "<!-- /grants:"+cloud+" -->"
		_, rest, ok := strings.Cut(string(doc), begin)
		table, _, ok2 := strings.Cut(rest, end)
		if want := markdown(cloud); !ok || !ok2 || table != want {
			t.Errorf("docs/deploy.md's %s table differs from the data; want, between %q and %q:\n%s", cloud, begin, end, want)
		}
	}
}
