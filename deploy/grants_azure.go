package deploy

import "github.com/polyfn/polyfn/core"

// AzureRole is a role assigned to the function app's system-assigned
// identity, scoped to a resource: a built-in Azure role (Name and its
// role definition ID), a custom Azure role the deployment defines with
// DataActions where no built-in role holds exactly what the use needs, or
// a Cosmos DB for MongoDB role (System "mongo").
type AzureRole struct {
	// System is "rbac" for an Azure role assignment, "mongo" for a role
	// of Cosmos DB for MongoDB's own role-based access control.
	System string `json:"system"`
	// Name is the built-in role's name, or the custom role's.
	Name string `json:"name"`
	// ID is a built-in role's definition GUID; empty for a custom role.
	ID string `json:"id,omitempty"`
	// DataActions are a custom role's data actions (for System "mongo",
	// its privileges' actions); empty for a built-in role.
	DataActions []string `json:"dataActions,omitempty"`
	// Scope is the resource the assignment is scoped to.
	Scope AzureScope `json:"scope"`
}

// AzureScope is the kind of resource a role assignment is scoped to.
type AzureScope string

// The scopes of Azure role assignments.
const (
	AzureContainer    AzureScope = "container"    // …/blobServices/default/containers/<name>
	AzureQueue        AzureScope = "queue"        // …/queueServices/default/queues/<name>
	AzureEntity       AzureScope = "entity"       // a Service Bus topic or queue
	AzureSubscription AzureScope = "subscription" // …/topics/<topic>/subscriptions/<name>, or a queue
	AzureSecret       AzureScope = "secret"       // …/vaults/<vault>/secrets/<name>
	AzureKey          AzureScope = "key"          // …/vaults/<vault>/keys/<name>
	AzureDatabase     AzureScope = "database"     // a Cosmos DB for MongoDB database
	AzureEventHub     AzureScope = "eventhub"     // …/namespaces/<namespace>/eventhubs/<hub>
)

func azureBuiltIn(name, id string, scope AzureScope) AzureRole {
	return AzureRole{System: "rbac", Name: name, ID: id, Scope: scope}
}

func azureCustom(name string, scope AzureScope, actions ...string) AzureRole {
	return AzureRole{System: "rbac", Name: name, DataActions: actions, Scope: scope}
}

func mongoRole(name string, actions ...string) AzureRole {
	return AzureRole{System: "mongo", Name: name, DataActions: actions, Scope: AzureDatabase}
}

const blobData = "Microsoft.Storage/storageAccounts/blobServices/containers/blobs/"

// azureTable is Azure's (kind, use, scheme) → role assignments.
//
// Blob Storage has no built-in role that writes and deletes without
// reading, and Key Vault none that only encrypts or only decrypts with a
// key (Key Vault Crypto User also signs, wraps and manages key versions;
// Crypto Service Encryption User wraps and unwraps, which gocloud's
// azurekeyvault does not call: it calls Encrypt and Decrypt): those rows
// are custom roles with exactly the data actions.
//
// Cosmos DB for MongoDB (mongodocstore, mongo://) is not authorised by
// Azure RBAC role assignments: the driver connects with a MongoDB
// connection string, and the account's MongoDB role-based access control
// gives that connection's user a role on the database. The rows are those
// roles, with the privileges' actions each use needs (find; insert,
// update, remove). gocloud's mongodocstore (v0.46.0) reads a document
// back in one case only: a Delete with a revision that removed nothing
// looks the document up (FindOne) to tell a stale revision from a missing
// document; under a write-only role the lookup is refused, which the
// driver takes for a missing document, so that Delete reports no error
// where a read-write role would report the stale revision.
//
// Sources:
//   - built-in roles and their IDs: https://learn.microsoft.com/azure/role-based-access-control/built-in-roles
//     (storage: .../built-in-roles/storage, Service Bus: .../built-in-roles/integration,
//     Key Vault: .../built-in-roles/security)
//   - data actions: https://learn.microsoft.com/azure/role-based-access-control/permissions/storage
//     and https://learn.microsoft.com/azure/key-vault/general/rbac-guide
//   - a queue trigger's identity: https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#identity-based-connections
//   - Service Bus: https://learn.microsoft.com/azure/service-bus-messaging/service-bus-managed-service-identity
//   - Cosmos DB for MongoDB RBAC: https://learn.microsoft.com/azure/cosmos-db/mongodb/how-to-setup-rbac
//   - an Event Hubs trigger's identity: https://learn.microsoft.com/azure/azure-functions/functions-bindings-event-hubs-trigger#identity-based-connections
//     (its checkpoints go to the host's own storage, AzureWebJobsStorage)
var azureTable = []row[AzureRole]{
	{core.KindBucket, core.Read, "azblob", []AzureRole{
		azureBuiltIn("Storage Blob Data Reader", "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1", AzureContainer)}},
	{core.KindBucket, core.Write, "azblob", []AzureRole{
		azureCustom("polyfn Blob Data Writer", AzureContainer, blobData+"write", blobData+"add/action", blobData+"delete")}},
	{core.KindBucket, core.ReadWrite, "azblob", []AzureRole{
		azureBuiltIn("Storage Blob Data Contributor", "ba92f5b4-2d11-453d-a403-e96b0029c9fe", AzureContainer)}},

	{core.KindTopic, core.Publish, "azuresb", []AzureRole{
		azureBuiltIn("Azure Service Bus Data Sender", "69a216fc-b8fb-44d8-bc22-1f3c2cd27a39", AzureEntity)}},
	{core.KindSubscription, core.Consume, "azuresb", []AzureRole{
		azureBuiltIn("Azure Service Bus Data Receiver", "4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0", AzureSubscription)}},
	{core.KindSubscription, core.Consume, AzureQueueScheme, []AzureRole{
		azureBuiltIn("Storage Queue Data Reader", "19e7f393-937e-4f77-808e-94535e297925", AzureQueue),
		azureBuiltIn("Storage Queue Data Message Processor", "8a0f0c08-91a1-4084-bc3d-661d67233fed", AzureQueue)}},

	{core.KindKeeper, core.Encrypt, "azurekeyvault", []AzureRole{
		azureCustom("polyfn Key Encrypter", AzureKey, "Microsoft.KeyVault/vaults/keys/encrypt/action")}},
	{core.KindKeeper, core.Decrypt, "azurekeyvault", []AzureRole{
		azureCustom("polyfn Key Decrypter", AzureKey, "Microsoft.KeyVault/vaults/keys/decrypt/action")}},
	{core.KindKeeper, core.EncryptDecrypt, "azurekeyvault", []AzureRole{
		azureCustom("polyfn Key Encrypter Decrypter", AzureKey,
			"Microsoft.KeyVault/vaults/keys/encrypt/action", "Microsoft.KeyVault/vaults/keys/decrypt/action")}},

	{core.KindVariable, core.Read, "azurekeyvaultvar", []AzureRole{
		azureBuiltIn("Key Vault Secrets User", "4633458b-17de-408a-b874-0445c86b69e6", AzureSecret)}},

	{core.KindCollection, core.Read, "mongo", []AzureRole{mongoRole("polyfnReader", "find")}},
	{core.KindCollection, core.Write, "mongo", []AzureRole{mongoRole("polyfnWriter", "insert", "update", "remove")}},
	{core.KindCollection, core.ReadWrite, "mongo", []AzureRole{mongoRole("polyfnReaderWriter", "find", "insert", "update", "remove")}},

	{core.KindStream, core.Consume, core.SchemeEventHubs, []AzureRole{
		azureBuiltIn("Azure Event Hubs Data Receiver", "a638d3c7-ab3a-418d-83e6-5f17a39d4fde", AzureEventHub)}},
}
