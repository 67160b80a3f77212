"""Detection: predictions by remote users and the operator's views of them."""
