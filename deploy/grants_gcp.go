package deploy

import "github.com/polyfn/polyfn/core"

// GCPRole is an IAM role bound for the deployment's service account on a
// resource: a predefined role, or, where no predefined role holds exactly
// what the use needs, a custom role that the deployment defines in the
// project with Permissions.
type GCPRole struct {
	// Role is a predefined role ("roles/pubsub.publisher") or the ID of
	// the custom role the deployment creates ("polyfnObjectWriter",
	// bound as projects/<project>/roles/<ID>).
	Role string `json:"role"`
	// Permissions are a custom role's; empty for a predefined role.
	Permissions []string `json:"permissions,omitempty"`
	// On is what the binding is set on: the resource the URL names, or
	// the project where the resource has no IAM policy of its own.
	On GCPScope `json:"on"`
}

// GCPScope is the kind of resource an IAM binding is set on.
type GCPScope string

// The scopes of GCP bindings.
const (
	GCPBucket       GCPScope = "bucket"       // gcloud storage buckets add-iam-policy-binding
	GCPTopic        GCPScope = "topic"        // gcloud pubsub topics add-iam-policy-binding
	GCPSubscription GCPScope = "subscription" // gcloud pubsub subscriptions add-iam-policy-binding
	GCPSecret       GCPScope = "secret"       // gcloud secrets add-iam-policy-binding
	GCPKey          GCPScope = "key"          // gcloud kms keys add-iam-policy-binding
	// GCPProject: Firestore has no IAM policy per database or collection;
	// its roles are bound on the project (an IAM condition on
	// resource.name may narrow them to the database).
	GCPProject GCPScope = "project"
)

// gcpTable is GCP's (kind, use, scheme) → role bindings.
//
// Cloud Storage has no predefined role that writes and deletes without
// reading (roles/storage.objectCreator cannot replace an object, which
// needs storage.objects.delete as well), nor Firestore one that writes
// without reading: a write-only bucket or collection gets a custom role
// with exactly those permissions.
//
// Sources:
//   - Cloud Storage roles: https://cloud.google.com/storage/docs/access-control/iam-roles
//     and permissions (replacing an object needs create and delete):
//     https://cloud.google.com/storage/docs/access-control/iam-permissions
//   - Pub/Sub: https://cloud.google.com/pubsub/docs/access-control
//   - Cloud KMS: https://cloud.google.com/kms/docs/reference/permissions-and-roles
//   - Secret Manager: https://cloud.google.com/secret-manager/docs/access-control
//   - Firestore: https://cloud.google.com/firestore/docs/security/iam
//   - custom roles: https://cloud.google.com/iam/docs/creating-custom-roles
var gcpTable = []row[GCPRole]{
	{core.KindBucket, core.Read, "gs", []GCPRole{{Role: "roles/storage.objectViewer", On: GCPBucket}}},
	{core.KindBucket, core.Write, "gs", []GCPRole{{Role: "polyfnObjectWriter",
		Permissions: []string{"storage.objects.create", "storage.objects.delete"}, On: GCPBucket}}},
	{core.KindBucket, core.ReadWrite, "gs", []GCPRole{{Role: "roles/storage.objectUser", On: GCPBucket}}},

	{core.KindTopic, core.Publish, "gcppubsub", []GCPRole{{Role: "roles/pubsub.publisher", On: GCPTopic}}},
	{core.KindSubscription, core.Consume, "gcppubsub", []GCPRole{{Role: "roles/pubsub.subscriber", On: GCPSubscription}}},

	{core.KindKeeper, core.Encrypt, "gcpkms", []GCPRole{{Role: "roles/cloudkms.cryptoKeyEncrypter", On: GCPKey}}},
	{core.KindKeeper, core.Decrypt, "gcpkms", []GCPRole{{Role: "roles/cloudkms.cryptoKeyDecrypter", On: GCPKey}}},
	{core.KindKeeper, core.EncryptDecrypt, "gcpkms", []GCPRole{{Role: "roles/cloudkms.cryptoKeyEncrypterDecrypter", On: GCPKey}}},

	{core.KindVariable, core.Read, "gcpsecretmanager", []GCPRole{{Role: "roles/secretmanager.secretAccessor", On: GCPSecret}}},

	{core.KindCollection, core.Read, "firestore", []GCPRole{{Role: "roles/datastore.viewer", On: GCPProject}}},
	{core.KindCollection, core.Write, "firestore", []GCPRole{{Role: "polyfnDocumentWriter",
		Permissions: []string{"datastore.entities.create", "datastore.entities.update", "datastore.entities.delete"}, On: GCPProject}}},
	{core.KindCollection, core.ReadWrite, "firestore", []GCPRole{{Role: "roles/datastore.user", On: GCPProject}}},
}
