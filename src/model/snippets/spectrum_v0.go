// Signpost webhook receiver, scheme spectrum-v0. Go 1.19 or newer, standard library only.
// Run: SIGNPOST_WEBHOOK_SECRET=<your secret> go run main.go
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log"
	"net/http"
	"os"
	"strconv"
	"time"
)

// Reject deliveries signed more than 5 minutes away from now.
const tolerance = 300 * time.Second

// verify checks X-Spectrum-Signature: "v0=" + hex HMAC-SHA256 of
// "v0:{timestamp}:{raw body}", keyed with the secret string (not hex-decoded).
func verify(secret []byte, header http.Header, body []byte) bool {
	timestamp := header.Get("X-Spectrum-Timestamp")
	sent, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return false
	}
	if age := time.Since(time.Unix(sent, 0)); age > tolerance || age < -tolerance {
		return false
	}
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	expected := "v0=" + hex.EncodeToString(mac.Sum(nil))
	return hmac.Equal([]byte(expected), []byte(header.Get("X-Spectrum-Signature"))) // constant time
}

func main() {
	secret := []byte(os.Getenv("SIGNPOST_WEBHOOK_SECRET"))
	if len(secret) == 0 {
		log.Fatal("SIGNPOST_WEBHOOK_SECRET is not set")
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
		if !verify(secret, r.Header, body) {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		log.Printf("event %s delivery %s", r.Header.Get("X-Spectrum-Event"), r.Header.Get("X-Signpost-Delivery-Id"))
		// ... json.Unmarshal(body, &event) and handle it here (quickly) ...
		w.WriteHeader(http.StatusNoContent)
	})
	log.Fatal(http.ListenAndServe("127.0.0.1:"+port, nil))
}
