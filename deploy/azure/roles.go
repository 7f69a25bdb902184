package azure

import (
	"fmt"
	"slices"
	"strings"

	"github.com/polyfn/polyfn/core"
	"github.com/polyfn/polyfn/deploy"
)

// assignment is an Assignment with the scope it is given.
type assignment struct {
	Assignment
	scope scope
}

// roles assigns the function app's identity exactly the roles of the
// units' grants (deploy.AzureGrants), each scoped to its resource, and
// those the Functions host needs for a trigger: the Storage Queue Data
// Message Sender on a queue trigger's poison queue, where the host moves
// a message after its last delivery
// (https://learn.microsoft.com/azure/azure-functions/functions-bindings-storage-queue-trigger#poison-messages);
// for a blob trigger, the Storage Blob Data Reader on its container when
// the unit's own grant does not read it, and the Storage Queue Data
// Contributor on the container's storage account, where the trigger keeps
// its poison queue. One identity holds the roles of all
// the units: a role two units need is assigned once.
func (r *renderer) roles() error {
	var as []*assignment
	add := func(env string, role deploy.AzureRole, s scope, unit, host string) {
		i := slices.IndexFunc(as, func(a *assignment) bool {
			return a.Env == env && a.Role.Name == role.Name && a.scope.path == s.path
		})
		if i < 0 {
			as = append(as, &assignment{Assignment: Assignment{Env: env, Role: role, Host: host}, scope: s})
			i = len(as) - 1
		}
		if unit != "" && !slices.Contains(as[i].Units, unit) {
			as[i].Units = append(as[i].Units, unit)
		}
	}
	for _, u := range r.plan.Units {
		gs, err := deploy.AzureGrants(u, r.opts.Grants)
		if err != nil {
			return fmt.Errorf("azure: %w", err)
		}
		for _, g := range gs {
			for _, role := range g.Grants {
				var s scope
				if role.System == "rbac" {
					var ok bool
					if s, ok = r.vars[g.Env].scopes[role.Scope]; !ok {
						return fmt.Errorf("azure: unit %s, %s: the %s role %s is scoped to a %s, which a %s behind %s:// is not", u.Name, g.Env, role.System, role.Name, role.Scope, g.Kind, g.Scheme)
					}
				}
				add(g.Env, role, s, u.Name, "")
			}
		}
	}
	for _, u := range r.plan.Units {
		switch t := u.Trigger; {
		case t == nil:
		case t.Object != nil && !slices.Contains(t.Object.Events, core.KindObjectDeleted):
			env := t.Object.Bucket
			reads := slices.ContainsFunc(as, func(a *assignment) bool {
				return a.Env == env && (a.Role.ID == blobReaderRole.ID || a.Role.Name == "Storage Blob Data Contributor")
			})
			if !reads {
				add(env, blobReaderRole, r.vars[env].scopes[deploy.AzureContainer], "", "the blob trigger of "+u.Name+" lists and reads the container")
			}
			add(env, queueContributorRole, scope{path: scopePath("Microsoft.Storage/storageAccounts", param(dataStorageParam))}, "",
				"the blob trigger of "+u.Name+" keeps its poison queue in the container's storage account")
		case t.Message != nil && r.scheme(u.Queue.Subscription, core.KindSubscription) == deploy.AzureQueueScheme:
			poison := lit(derivedName(u.Queue.Subscription) + "-poison")
			segs := []string{templateVar("storageAccount"), lit("default"), poison}
			add(u.Queue.Subscription, queueSenderRole, scope{
				path:      scopePath("Microsoft.Storage/storageAccounts/queueServices/queues", segs...),
				dependsOn: []string{resourceID("Microsoft.Storage/storageAccounts/queueServices/queues", segs...)},
			}, "", "the host of "+u.Name+" moves a message that failed its last delivery to the poison queue")
		}
	}

	t := r.t
	var custom []string
	var mongo []*assignment
	for _, a := range as {
		r.app.Assignments = append(r.app.Assignments, a.Assignment)
		if a.Role.System == "mongo" {
			mongo = append(mongo, a)
			continue
		}
		roleID := call("subscriptionResourceId", lit("Microsoft.Authorization/roleDefinitions"), lit(a.Role.ID))
		deps := append([]string{siteID()}, a.scope.dependsOn...)
		if a.Role.ID == "" {
			// A custom role, defined once in the resource group
			// (https://learn.microsoft.com/azure/templates/microsoft.authorization/roledefinitions).
			guid := call("guid", "resourceGroup().id", lit(a.Role.Name))
			roleID = resourceID("Microsoft.Authorization/roleDefinitions", guid)
			deps = append(deps, roleID)
			if !slices.Contains(custom, a.Role.Name) {
				custom = append(custom, a.Role.Name)
				t.Resources = append(t.Resources, Resource{
					Type: "Microsoft.Authorization/roleDefinitions", APIVersion: apiRoles, Name: name(guid),
					Properties: map[string]any{
						// Role names are unique in a tenant: the resource group names it.
						"roleName":         expr(call("format", lit(a.Role.Name+" ({0})"), "resourceGroup().name")),
						"description":      "polyfn: exactly the data actions of one use (deploy.AzureGrants)",
						"type":             "CustomRole",
						"permissions":      []map[string][]string{{"actions": {}, "notActions": {}, "dataActions": a.Role.DataActions, "notDataActions": {}}},
						"assignableScopes": []string{expr("resourceGroup().id")},
					},
				})
			}
		}
		// https://learn.microsoft.com/azure/role-based-access-control/role-assignments-template
		t.Resources = append(t.Resources, Resource{
			Condition: r.vars[a.Env].condition,
			Type:      "Microsoft.Authorization/roleAssignments", APIVersion: apiRoles,
			Name:      name(call("guid", a.scope.path, lit(a.Role.Name), siteID())),
			Scope:     expr(a.scope.path),
			DependsOn: deps,
			Properties: map[string]any{
				"roleDefinitionId": expr(roleID),
				"principalId":      expr(principalID()),
				"principalType":    "ServicePrincipal",
				"description":      describe(a.Assignment),
			},
		})
	}
	r.mongoRoles(mongo)
	return nil
}

// describe is a role assignment's description, which names the variable,
// the role and who needs it: "polyfn: ARCHIVE_BUCKET_URL: Storage Blob
// Data Reader for kitchen-sink, kitchen-sink-ingest".
func describe(a Assignment) string {
	who := "for " + strings.Join(a.Units, ", ")
	if a.Host != "" {
		who = "for the Functions host: " + a.Host
	}
	return "polyfn: " + a.Env + ": " + a.Role.Name + " " + who
}

// mongoRoles defines a MongoDB role per collection and use, scoped to the
// collection, and one MongoDB user for the function app that holds them
// (https://learn.microsoft.com/azure/cosmos-db/mongodb/how-to-setup-rbac).
// The grants table's roles are scoped to the database; a role here names
// the collection too, so that one app's read-only collection stays
// read-only beside its read-write ones in the same database.
func (r *renderer) mongoRoles(as []*assignment) {
	if len(as) == 0 {
		return
	}
	acct, db := param(cosmosAccountParam), param(databaseParam)
	var roles []map[string]string
	var deps []string
	for _, a := range as {
		roleName := a.Role.Name + "_" + strings.ReplaceAll(derivedName(a.Env), "-", "_")
		segs := []string{acct, call("format", lit("{0}."+roleName), db)}
		deps = append(deps, resourceID("Microsoft.DocumentDB/databaseAccounts/mongodbRoleDefinitions", segs...))
		roles = append(roles, map[string]string{"db": expr(db), "role": roleName})
		r.t.Resources = append(r.t.Resources, Resource{
			Type: "Microsoft.DocumentDB/databaseAccounts/mongodbRoleDefinitions", APIVersion: apiMongoRBAC, Name: name(segs...),
			Properties: map[string]any{
				"roleName": roleName, "type": "CustomRole", "databaseName": expr(db),
				"privileges": []map[string]any{{
					"resource": map[string]string{"db": expr(db), "collection": expr(r.vars[a.Env].name)},
					"actions":  a.Role.DataActions,
				}},
				"roles": []any{},
			},
		})
	}
	r.t.Resources = append(r.t.Resources, Resource{
		Type: "Microsoft.DocumentDB/databaseAccounts/mongodbUserDefinitions", APIVersion: apiMongoRBAC,
		Name:      name(acct, call("format", lit("{0}.{1}"), db, param(appNameParam))),
		DependsOn: deps,
		Properties: map[string]any{
			"userName": expr(param(appNameParam)), "password": expr(param(mongoPasswordParam)), "databaseName": expr(db),
			"customData": "", "mechanisms": "SCRAM-SHA-256", "roles": roles,
		},
	})
}
