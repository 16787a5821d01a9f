"""Who a caller is: users, service accounts, API tokens, passwords and sessions.

A domain on the floor beside tracking, data and the rest; no other domain imports it, and it
imports none. Heavy libraries (argon2, PyJWT, Authlib) are imported inside the functions that
use them, so ``import modelyard`` stays light.
"""
