"""Process plumbing below every wing: settings, logging, Sentry, metrics, the clock, the rules folder."""
