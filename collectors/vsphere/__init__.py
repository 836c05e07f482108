"""vSphere collector (pyvmomi)."""
