"""Transfers between sites with transit: `POST /v1/transfers` (draft), ship, receive, close
(what never arrives is lost in transit). One-step moves stay `POST /v1/stock/transfers`."""
