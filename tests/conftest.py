pytest_plugins = [
    "tests.fixtures.s3",
    "tests.fixtures.stores",
    "tests.fixtures.auth",
    "tests.fixtures.oidc",
]
