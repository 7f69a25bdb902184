package launch

// Every build links the self-hosted brokers' drivers (nats://, rabbit://),
// whatever its target: they are not any one cloud's.
import _ "github.com/polyfn/polyfn/providers/selfhosted"
