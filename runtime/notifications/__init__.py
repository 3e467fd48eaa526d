"""Notifications: the in-app inbox (rows in `notifications`), recipient resolution
(users, roles, departments, a record's user fields, its owner) and the `notify.send`
job that delivers through the channel plugins after the write commits."""
