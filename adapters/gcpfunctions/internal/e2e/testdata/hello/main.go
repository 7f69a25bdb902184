// Command hello is the baseline of the cold-start benchmark: the smallest
// function the Functions Framework serves, with no polyfn code. It listens
// on 127.0.0.1:$PORT.
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
	functions.HTTP("hello", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "hello") })
}

func main() {
	if err := funcframework.StartHostPort("127.0.0.1", os.Getenv("PORT")); err != nil {
		log.Fatal(err)
	}
}
