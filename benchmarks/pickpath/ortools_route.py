"""OR-Tools' routing solver on the core's distance matrix: the reference route."""

from __future__ import annotations

from collections.abc import Sequence

MM_PER_M = 1000


def ortools_route(matrix: Sequence[Sequence[float]], time_limit_s: float) -> list[int]:
    """OR-Tools' best route in `time_limit_s` (pick indices, depot excluded)."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    size = len(matrix)
    scaled = [[round(d * MM_PER_M) for d in row] for row in matrix]
    manager = pywrapcp.RoutingIndexManager(size, 1, 0)
    routing = pywrapcp.RoutingModel(manager)

    def distance(i: int, j: int) -> int:
        return scaled[manager.IndexToNode(i)][manager.IndexToNode(j)]

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(distance))
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(time_limit_s * 1000))
    solution = routing.SolveWithParameters(params)
    assert solution is not None, "OR-Tools found no route"
    order, index = [], routing.Start(0)
    while not routing.IsEnd(index):
        node = manager.IndexToNode(index)
        if node:
            order.append(node - 1)
        index = solution.Value(routing.NextVar(index))
    return order
