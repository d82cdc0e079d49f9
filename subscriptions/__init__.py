"""E-mail subscriptions: a mail to each confirmed address when an agency publishes a new version."""
