"""Consultations: the intake before a lawyer sees a request, the desk from request to closing."""
