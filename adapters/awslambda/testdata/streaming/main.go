// Command streaming is an app that declares core.App.StreamResponses, for
// the end-to-end test of response streaming on the real -tags aws
// bootstrap: GET /events writes and flushes a first event, waits until
// GET $STREAM_RELEASE_URL answers (the test answers once its client read
// the first event), and writes a second; GET /plain answers as a handler
// that does not flush does, with a status, headers and two cookies.
package main

import (
	"io"
	"net/http"
	"os"

	"github.com/polyfn/polyfn/cmd/launch"
	"github.com/polyfn/polyfn/core"
)

func main() {
	app := core.NewApp("streaming")
	app.StreamResponses()
	app.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: first\n\n")
		if err := http.NewResponseController(w).Flush(); err != nil {
			_, _ = io.WriteString(w, "data: no-flush\n\n")
			return
		}
		req, err := http.NewRequestWithContext(r.Context(), http.MethodGet, os.Getenv("STREAM_RELEASE_URL"), nil)
		if err != nil {
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			_, _ = io.WriteString(w, "data: no-release\n\n")
			return
		}
		resp.Body.Close()
		_, _ = io.WriteString(w, "data: released\n\n")
	})
	app.HandleFunc("GET /plain", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	launch.Start(app)
}
