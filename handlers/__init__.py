"""Lambda entry points. Each is a thin shell over ``stoplist``: parse the event, call the domain, shape the answer."""
