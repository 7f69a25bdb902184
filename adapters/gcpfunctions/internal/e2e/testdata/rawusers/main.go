// Command rawusers is the same-work baseline of the cold-start benchmark:
// the users function's read path (GET /users/{id} from a bucket opened by
// URL) served by the Functions Framework with no polyfn code. It links the
// same storage drivers as the -tags gcp users binary (Cloud Storage and
// local files), so the difference to users is what polyfn adds: the
// adapter, the app and its gateway policies. It listens on
// 127.0.0.1:$PORT.
package main

import (
	"context"
	"log"
	"net/http"
	"os"
	"strings"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
	"gocloud.dev/blob"
	_ "gocloud.dev/blob/fileblob"
	_ "gocloud.dev/blob/gcsblob"
	"gocloud.dev/gcerrors"
)

func main() {
	bucket, err := blob.OpenBucket(context.Background(), os.Getenv("USERS_BUCKET_URL"))
	if err != nil {
		log.Fatal(err)
	}
	functions.HTTP("users", func(w http.ResponseWriter, r *http.Request) {
		id, ok := strings.CutPrefix(r.URL.Path, "/users/")
		if !ok || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		b, err := bucket.ReadAll(r.Context(), "users/"+id+".json")
		switch {
		case gcerrors.Code(err) == gcerrors.NotFound:
			http.NotFound(w, r)
			return
		case err != nil:
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b)
	})
	if err := funcframework.StartHostPort("127.0.0.1", os.Getenv("PORT")); err != nil {
		log.Fatal(err)
	}
}
