"""Consultations: the records and ports of the lawyer queue, the intake before a lawyer sees a
request, and the desk from request to closing."""
