"""Running the server: ``LocalAutumn``, its thread wrapper, the command line, the
demo, the configuration file and seed data."""
