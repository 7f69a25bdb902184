// Command rawgreeter is the baseline of the minimal function's binary size
// on Azure (cmd/launch's BenchmarkMinimalBinary): the route of
// usermodule.Greeter as a plain net/http custom handler with
// enableForwardingHttpRequest, on $FUNCTIONS_CUSTOMHANDLER_PORT, with no
// polyfn in it and nothing but the standard library.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"
)

func main() {
	port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if port == "" {
		port = "8080"
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "hello, %s\n", r.PathValue("name"))
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:"+port, mux))
}
