// Signpost webhook receiver, scheme standard-webhooks. Go 1.19 or newer, standard library only.
// Run: SIGNPOST_WEBHOOK_SECRET=whsec_... go run main.go
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Reject deliveries signed more than 5 minutes away from now.
const tolerance = 300 * time.Second

// verify checks webhook-signature: "v1," + base64 HMAC-SHA256 of
// "{webhook-id}.{webhook-timestamp}.{raw body}".
func verify(key []byte, header http.Header, body []byte) bool {
	id := header.Get("webhook-id")
	timestamp := header.Get("webhook-timestamp")
	sent, err := strconv.ParseInt(timestamp, 10, 64)
	if id == "" || err != nil {
		return false
	}
	if age := time.Since(time.Unix(sent, 0)); age > tolerance || age < -tolerance {
		return false
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + timestamp + "."))
	mac.Write(body)
	expected := []byte("v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	// "v1,<sig> v1,<sig>": two signatures while a secret is being rotated; any may match.
	for _, sig := range strings.Split(header.Get("webhook-signature"), " ") {
		if subtle.ConstantTimeCompare([]byte(sig), expected) == 1 { // constant time
			return true
		}
	}
	return false
}

func main() {
	// The HMAC key is the base64-decoded part after "whsec_".
	secret := os.Getenv("SIGNPOST_WEBHOOK_SECRET")
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if secret == "" || err != nil {
		log.Fatal("SIGNPOST_WEBHOOK_SECRET is missing or not a whsec_ secret")
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}

	http.HandleFunc("/webhook", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "use POST", http.StatusMethodNotAllowed)
			return
		}
		// The raw bytes (at most 1 MiB): verify BEFORE parsing.
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "cannot read body", http.StatusBadRequest)
			return
		}
		if !verify(key, r.Header, body) {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		log.Printf("delivery %s", r.Header.Get("webhook-id"))
		// ... json.Unmarshal(body, &event) and handle it here (quickly) ...
		w.WriteHeader(http.StatusNoContent)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:"+port, nil))
}
