package cmdutil

import (
	"fmt"
	"sync"
	"time"

	"github.com/pfz-cli/pfz/internal/config"
	"github.com/pfz-cli/pfz/internal/netpolicy"
)

// NetworkKeys are the configuration keys of the network policy.
var NetworkKeys = []string{config.KeyConnectTimeout, config.KeyAnswerTimeout, config.KeyMaxRetryWait}

// NetworkPolicy is the one network policy of this command, from cfg's
// network.* keys: every Azure call (ARM, services, storage, tokens) follows
// it, and a request that waits NoticeAfter without an answer is announced on
// stderr, at most one line per NoticeAfter so parallel uploads do not flood.
func (f *Factory) NetworkPolicy(cfg *config.Config) netpolicy.Policy {
	p := netpolicy.Policy{
		ConnectTimeout: cfg.ConnectTimeout,
		AnswerTimeout:  cfg.AnswerTimeout,
		MaxRetryDelay:  cfg.MaxRetryWait,
	}.WithDefaults()
	f.noticeOnce.Do(func() { f.notice = newWaitNotice(f, p.NoticeAfter) })
	p.Notify = f.notice
	return p
}

func newWaitNotice(f *Factory, every time.Duration) func(netpolicy.Wait) {
	var mu sync.Mutex
	var last time.Time
	return func(w netpolicy.Wait) {
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		if !last.IsZero() && now.Sub(last) < every {
			return
		}
		last = now
		fmt.Fprintf(f.IOStreams.ErrOut, "waiting for %s to answer %s (%s so far)…\n", w.Host, w.Op, netpolicy.Round(w.Waited))
	}
}
