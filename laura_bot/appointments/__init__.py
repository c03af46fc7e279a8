"""Appointments: a visitor or a member of staff books a conversation at a set time with an
adviser of a department. The pure parts (typed times, free slots) stand apart from the
storage, the service that decides, and the commands that parse and answer."""
