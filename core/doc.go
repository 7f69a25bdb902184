// Package core is polyfn's provider-neutral model: what a business function
// is written against, and what every adapter translates to and from.
//
//   - HTTP functions are plain net/http handlers, declared on an App with
//     ServeMux patterns (App.Handle).
//   - Event functions are Handlers that receive one neutral Event: a
//     CloudEvents 1.0 envelope with typed data (Object, Message, Change,
//     Timer), declared on an App with a Trigger (App.On).
//   - Invocation metadata travels in the context (InvocationFrom).
//   - Errors carry a Code (Errorf); each adapter has one table from Code to
//     its platform's behaviour, and internal error text never reaches a client.
//
// core imports the standard library and the CloudEvents SDK only: no cloud
// SDK, no adapter, no provider.
package core
