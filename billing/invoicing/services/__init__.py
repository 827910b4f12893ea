"""The invoicing services, one module per noun. Import the module you need, e.g.
`from billing.invoicing.services import payments`."""
