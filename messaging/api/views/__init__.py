"""REST API views, one module per resource. Each view reads the request,
calls one service function and returns the reference's JSON."""
