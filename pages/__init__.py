"""The dashboard's pages, one module each; installed as `chicrime.pages`, run by `create_app`."""
