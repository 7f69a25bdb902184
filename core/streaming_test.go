package core

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestStreamResponses(t *testing.T) {
	app := NewApp("streams")
	if app.StreamsResponses() || app.Manifest().StreamResponses {
		t.Fatal("an app streams before it declares it")
	}
	app.StreamResponses()
	if !app.StreamsResponses() {
		t.Error("StreamsResponses is false after StreamResponses")
	}
	ms, err := ParseManifests([]byte(`[{"app":"streams","routes":[],"functions":[],"resources":[],"streamResponses":true}]`))
	if err != nil || !ms[0].StreamResponses || !app.Manifest().StreamResponses {
		t.Errorf("the manifest does not carry the declaration: %+v, %v", ms, err)
	}
	if err := app.Init(t.Context(), func(string) string { return "" }); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Error("StreamResponses after Init did not panic")
		}
	}()
	app.StreamResponses()
}

// A handler that asserts http.Flusher reaches the server's writer through
// the app's wrappers (observation, Recover): its first bytes arrive while
// it waits for the client to read them.
func TestFlusherThroughTheApp(t *testing.T) {
	release := make(chan struct{})
	app := NewApp("flusher")
	app.HandleFunc("GET /events", func(w http.ResponseWriter, r *http.Request) {
		f, ok := w.(http.Flusher)
		if !ok {
			http.Error(w, "no http.Flusher", http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "data: first\n\n")
		f.Flush()
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "data: second\n\n")
	})
	srv := httptest.NewServer(app.HTTPHandler())
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if first, err := br.ReadString('\n'); err != nil || first != "data: first\n" || resp.StatusCode != http.StatusOK {
		t.Fatalf("%d, first line %q, %v", resp.StatusCode, first, err)
	}
	close(release)
	if rest, err := io.ReadAll(br); err != nil || string(rest) != "\ndata: second\n\n" {
		t.Errorf("rest %q, %v", rest, err)
	}
}
