"""The Automations page: the canvas of everything that runs without the user."""
