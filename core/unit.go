package core

// UnitEnv is the environment variable that names the deployment unit a
// function binary runs as (UnitName), where one binary is deployed as
// several functions: each AWS Lambda of an app is the same bootstrap, told
// by POLYFN_UNIT which of the app's units it is, and serves that unit's
// events or routes only. Unset, a binary serves all of its apps' units.
const UnitEnv = "POLYFN_UNIT"

// UnitName returns the name of a deployment unit: the app's name for its
// HTTP routes (function ""), "<app>-<function>" for an event function.
// The deploy layer names its units, and every cloud resource derived from
// them, with it.
func UnitName(app, function string) string {
	if function == "" {
		return app
	}
	return app + "-" + function
}
