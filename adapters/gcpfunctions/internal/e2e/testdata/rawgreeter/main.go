// Command rawgreeter is the baseline of the minimal function's cold start
// (BenchmarkColdStartMinimal): the route of usermodule.Greeter,
// GET /hello/{name}, served by the Functions Framework with no polyfn code,
// as the function "greeter". It listens on 127.0.0.1:$PORT.
package main

import (
	"fmt"
	"log"
	"net/http"
	"os"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
)

func init() {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello/{name}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "hello, %s\n", r.PathValue("name"))
	})
	functions.HTTP("greeter", mux.ServeHTTP)
}

func main() {
	if err := funcframework.StartHostPort("127.0.0.1", os.Getenv("PORT")); err != nil {
		log.Fatal(err)
	}
}
