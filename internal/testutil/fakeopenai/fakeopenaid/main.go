// Command fakeopenaid serves the fake OpenAI server of package fakeopenai on
// 127.0.0.1 for running promptflow (the reference implementation) against
// it: it prints its URL, answers with fakeopenai.Scripted and writes every
// request it receives (URL shape, headers without the key, body) as a JSON
// line to the file named by -log. Test support only; never shipped.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"time"

	"github.com/pfz-cli/pfz/internal/testutil/fakeopenai"
)

func main() {
	key := flag.String("key", "fake-key", "the api key the server accepts")
	logPath := flag.String("log", "", "append each request as a JSON line to this file")
	flag.Parse()
	s, err := fakeopenai.Start(*key)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer s.Close()
	s.SetReply(fakeopenai.Scripted)
	fmt.Println(s.URL)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt)
	seen := 0
	for {
		select {
		case <-stop:
			return
		case <-time.After(50 * time.Millisecond):
		}
		reqs := s.Requests()
		for ; seen < len(reqs); seen++ {
			r := reqs[seen]
			h := map[string]string{}
			for k := range r.Header {
				if k != "Api-Key" && k != "Authorization" {
					h[k] = r.Header.Get(k)
				}
			}
			line, _ := json.Marshal(map[string]any{"api": r.API, "flavor": r.Flavor, "deployment": r.Deployment,
				"api_version": r.APIVersion, "headers": h, "body": r.Body})
			if *logPath != "" {
				f, err := os.OpenFile(*logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
				if err == nil {
					fmt.Fprintf(f, "%s\n", line)
					f.Close()
				}
			}
		}
	}
}
