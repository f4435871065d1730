"""Jobs: specs and their rendering, registration, reading back, waits, logs, forensics, stopping, JAR delivery."""
