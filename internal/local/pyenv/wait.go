package pyenv

import "time"

// waitDelay bounds how long a cancelled Python process may keep its output
// pipes open (pip can leave children behind) before pfz stops waiting.
const waitDelay = 5 * time.Second
