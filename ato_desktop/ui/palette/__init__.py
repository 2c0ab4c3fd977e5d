"""The Cmd/Ctrl+K command palette: Quick Actions from the command registry and a search over
the whole workspace (store.search)."""
