"""Internal package shared by the keyword libraries; not a public API."""
